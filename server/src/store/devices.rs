//! Devices (phones, tablets, laptops), registered to the user who signs in on them. The device id
//! is a UUID the client mints once and keeps; sync operations carry it.
//!
//! A phone handed to another interviewer is re-registered to them at their sign-in, and the
//! previous user's tokens on that device are revoked: one device, one signed-in user.

use super::{StoreError, tokens};
use crate::db::{self, DbConnection, schema::devices};
use diesel::prelude::*;

/// How stale `last_seen` may get before a request updates it (avoids a write per request).
pub const LAST_SEEN_RESOLUTION_MS: i64 = 60_000;

/// A registered device.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = devices)]
pub struct Device {
    /// The id the client minted (UUID).
    pub id: String,
    /// The user it is registered to.
    pub user_id: String,
    /// A human name ("Redmi 12, Li Wei"); may be empty.
    pub name: String,
    /// When it was registered to this user (ms since the epoch).
    pub registered_at: i64,
    /// When it was last used (to the minute).
    pub last_seen: i64,
}

/// The device with this id, if registered.
pub fn by_id(conn: &mut DbConnection, id: &str) -> Result<Option<Device>, StoreError> {
    Ok(devices::table
        .find(id)
        .select(Device::as_select())
        .get_result(conn)
        .optional()?)
}

/// The devices registered to a user, most recently seen first.
pub fn for_user(conn: &mut DbConnection, user_id: &str) -> Result<Vec<Device>, StoreError> {
    Ok(devices::table
        .filter(devices::user_id.eq(user_id))
        .order(devices::last_seen.desc())
        .select(Device::as_select())
        .load(conn)?)
}

/// Registers device `id` to `user_id` (new, the same user again, or taken over from another
/// user — whose tokens on it are then revoked). An empty `name` keeps the old name.
pub fn register(
    conn: &mut DbConnection,
    id: &str,
    user_id: &str,
    name: &str,
    now: i64,
) -> Result<Device, StoreError> {
    db::write(conn, |conn| match by_id(conn, id)? {
        None => {
            let device = Device {
                id: id.to_string(),
                user_id: user_id.to_string(),
                name: name.to_string(),
                registered_at: now,
                last_seen: now,
            };
            diesel::insert_into(devices::table)
                .values((
                    devices::id.eq(&device.id),
                    devices::user_id.eq(&device.user_id),
                    devices::name.eq(&device.name),
                    devices::registered_at.eq(now),
                    devices::last_seen.eq(now),
                ))
                .execute(conn)
                .map_err(|e| StoreError::unique(e, "device", "device_id"))?;
            Ok(device)
        }
        Some(old) => {
            let name = if name.is_empty() {
                old.name
            } else {
                name.to_string()
            };
            let registered_at = if old.user_id == user_id {
                old.registered_at
            } else {
                tokens::revoke_device(conn, id, now)?;
                now
            };
            diesel::update(devices::table.find(id))
                .set((
                    devices::user_id.eq(user_id),
                    devices::name.eq(&name),
                    devices::registered_at.eq(registered_at),
                    devices::last_seen.eq(now),
                ))
                .execute(conn)?;
            Ok(Device {
                id: id.to_string(),
                user_id: user_id.to_string(),
                name,
                registered_at,
                last_seen: now,
            })
        }
    })
}

/// Records that the device was used now, unless it was already within
/// [`LAST_SEEN_RESOLUTION_MS`].
pub fn touch(conn: &mut DbConnection, id: &str, now: i64) -> Result<(), StoreError> {
    diesel::update(
        devices::table
            .find(id)
            .filter(devices::last_seen.lt(now - LAST_SEEN_RESOLUTION_MS)),
    )
    .set(devices::last_seen.eq(now))
    .execute(conn)?;
    Ok(())
}
