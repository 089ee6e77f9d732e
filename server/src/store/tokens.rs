//! Bearer tokens: issued at sign-in, stored as SHA-256, expiring, revocable one at a time (sign
//! out), per device, or all of a user's at once.

use super::StoreError;
use crate::auth::{Actor, AuthError, Role, token};
use crate::db::{
    self, DbConnection,
    schema::{devices, tokens, users},
};
use diesel::prelude::*;

/// A freshly issued token.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The token (shown once).
    pub token: String,
    /// Its stored hash.
    pub hash: String,
    /// When it expires (ms since the epoch).
    pub expires_at: i64,
}

/// Issues a token for `user_id` (on `device_id`, if any) valid for `ttl_ms`.
pub fn issue(
    conn: &mut DbConnection,
    user_id: &str,
    device_id: Option<&str>,
    ttl_ms: i64,
    now: i64,
) -> Result<Issued, StoreError> {
    let secret = token::generate().map_err(|e| StoreError::Internal(e.to_string()))?;
    let issued = Issued {
        hash: token::hash(&secret),
        token: secret,
        expires_at: now.saturating_add(ttl_ms),
    };
    db::write(conn, |conn| {
        diesel::insert_into(tokens::table)
            .values((
                tokens::hash.eq(&issued.hash),
                tokens::user_id.eq(user_id),
                tokens::device_id.eq(device_id),
                tokens::created_at.eq(now),
                tokens::expires_at.eq(issued.expires_at),
                tokens::revoked_at.eq(None::<i64>),
            ))
            .execute(conn)
    })?;
    Ok(issued)
}

/// The actor behind a token, or why there is none: [`AuthError::Invalid`] (never issued or
/// malformed), [`AuthError::Revoked`], [`AuthError::Expired`] (at `expires_at` exactly) or
/// [`AuthError::Disabled`]. Marks the device as seen (at most once a minute).
pub fn authenticate(conn: &mut DbConnection, secret: &str, now: i64) -> Result<Actor, StoreError> {
    if !token::well_formed(secret) {
        return Err(AuthError::Invalid.into());
    }
    let hash = token::hash(secret);
    let row = tokens::table
        .inner_join(users::table)
        .left_join(devices::table.on(devices::id.nullable().eq(tokens::device_id)))
        .filter(tokens::hash.eq(&hash))
        .select((
            tokens::user_id,
            tokens::device_id,
            tokens::expires_at,
            tokens::revoked_at,
            users::username,
            users::role,
            users::team_id,
            users::disabled,
            devices::last_seen.nullable(),
        ))
        .get_result::<(
            String,
            Option<String>,
            i64,
            Option<i64>,
            String,
            String,
            Option<String>,
            bool,
            Option<i64>,
        )>(conn)
        .optional()?;
    let Some((
        user_id,
        device_id,
        expires_at,
        revoked_at,
        username,
        role,
        team_id,
        disabled,
        last_seen,
    )) = row
    else {
        return Err(AuthError::Invalid.into());
    };
    if revoked_at.is_some() {
        return Err(AuthError::Revoked.into());
    }
    if expires_at <= now {
        return Err(AuthError::Expired.into());
    }
    if disabled {
        return Err(AuthError::Disabled.into());
    }
    let role = Role::parse(&role).ok_or(AuthError::Invalid)?;
    if let (Some(device), Some(seen)) = (&device_id, last_seen)
        && seen < now - super::devices::LAST_SEEN_RESOLUTION_MS
        && let Err(e) = super::devices::touch(conn, device, now)
    {
        // Bookkeeping only: a busy database must not refuse the request.
        tracing::debug!(error = %e, "could not update the device's last_seen");
    }
    Ok(Actor {
        user_id,
        username,
        role,
        team_id,
        device_id,
        token_hash: hash,
    })
}

/// Revokes one token by its hash; whether it was live.
pub fn revoke(conn: &mut DbConnection, hash: &str, now: i64) -> Result<bool, StoreError> {
    let n = diesel::update(
        tokens::table
            .find(hash)
            .filter(tokens::revoked_at.is_null()),
    )
    .set(tokens::revoked_at.eq(now))
    .execute(conn)?;
    Ok(n > 0)
}

/// Revokes every live token of a user; how many.
pub fn revoke_all(conn: &mut DbConnection, user_id: &str, now: i64) -> Result<usize, StoreError> {
    Ok(diesel::update(
        tokens::table
            .filter(tokens::user_id.eq(user_id))
            .filter(tokens::revoked_at.is_null())
            .filter(tokens::expires_at.gt(now)),
    )
    .set(tokens::revoked_at.eq(now))
    .execute(conn)?)
}

/// Revokes every live token issued on a device; how many.
pub fn revoke_device(
    conn: &mut DbConnection,
    device_id: &str,
    now: i64,
) -> Result<usize, StoreError> {
    Ok(diesel::update(
        tokens::table
            .filter(tokens::device_id.eq(device_id))
            .filter(tokens::revoked_at.is_null())
            .filter(tokens::expires_at.gt(now)),
    )
    .set(tokens::revoked_at.eq(now))
    .execute(conn)?)
}

/// Deletes tokens that expired or were revoked before `before`; how many.
pub fn purge(conn: &mut DbConnection, before: i64) -> Result<usize, StoreError> {
    Ok(diesel::delete(
        tokens::table.filter(
            tokens::expires_at
                .lt(before)
                .or(tokens::revoked_at.lt(before)),
        ),
    )
    .execute(conn)?)
}
