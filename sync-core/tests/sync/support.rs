//! A simulated survey for sync tests: a server (`MemoryLog`), phones (`Replica`s over memory
//! storage) and an administrator who seeds an area. Messages go through the binary wire format.

use std::collections::{BTreeMap, BTreeSet};
use sync_core::sync::entity::{DWELLING_FIELD, Entity, STATUS_FIELD};
use sync_core::sync::replica::OutboxEntry;
use sync_core::sync::{
    DeviceId, EntityKind, FieldValue, IdMint, Identity, MemoryLog, MemoryReplicaStorage,
    MergeContext, OpBody, Operation, Principal, PullResponse, PushAck, Replica, ReplicaError, Role,
    Scope, Target, UserId, Verdict, decode_binary, encode_binary, pull, push,
};
use uuid::Uuid;

/// 2026-01-01T00:00:00Z.
pub const T0: u64 = 1_767_225_600_000;

pub type Phone = Replica<MemoryReplicaStorage>;

pub struct Device {
    pub principal: Principal,
    pub replica: Option<Phone>,
    pub mint: IdMint,
    /// The device's wall clock (possibly wrong).
    pub clock_ms: u64,
}

impl Device {
    pub fn replica(&self) -> &Phone {
        self.replica.as_ref().expect("replica open")
    }

    pub fn replica_mut(&mut self) -> &mut Phone {
        self.replica.as_mut().expect("replica open")
    }

    /// Drops the replica and opens its storage again.
    pub fn restart(&mut self, ctx: MergeContext) {
        let storage = self.replica.take().expect("replica open").into_storage();
        self.replica = Some(Replica::open(storage, ctx).expect("reopen"));
    }

    pub fn id(&self) -> DeviceId {
        self.principal.device
    }
}

/// What the administrator seeded.
#[derive(Debug, Clone, Default)]
pub struct Seeded {
    pub area: Uuid,
    pub dwellings: Vec<Uuid>,
    pub households: Vec<Uuid>,
    pub interviews: Vec<Uuid>,
    pub sample: Uuid,
}

pub struct World {
    pub server: MemoryLog,
    pub ctx: MergeContext,
    pub admin: Device,
    pub devices: Vec<Device>,
    pub seeded: Seeded,
}

pub fn target(kind: EntityKind, id: Uuid) -> Target {
    Target::new(kind, id)
}

pub fn dwelling(id: Uuid) -> Target {
    target(EntityKind::Dwelling, id)
}

pub fn household(id: Uuid) -> Target {
    target(EntityKind::Household, id)
}

pub fn interview(id: Uuid) -> Target {
    target(EntityKind::Interview, id)
}

pub fn text(s: &str) -> FieldValue {
    FieldValue::text(s)
}

fn fields(pairs: &[(&str, FieldValue)]) -> BTreeMap<String, FieldValue> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

impl World {
    /// A world with one device per role in `roles` (device `i` is `devices[i]`), and an area of
    /// `n` dwellings, each with a household and an interview (submitted when `submitted`).
    pub fn new(roles: &[Role], n: usize, submitted: bool) -> Self {
        Self::with_skews(roles, &vec![0; roles.len()], n, submitted, 1)
    }

    /// As [`World::new`], with each device's clock off by `skews[i]` milliseconds and ids minted
    /// from `seed`.
    pub fn with_skews(roles: &[Role], skews: &[i64], n: usize, submitted: bool, seed: u64) -> Self {
        let ctx = MergeContext::default();
        let mut mint = IdMint::new(seed);
        let new_device = |role: Role, skew: i64, k: u64| {
            let identity = Identity {
                device: DeviceId::from_uuid(Uuid::from_u128(0xd000 + u128::from(k))),
                user: UserId::from_uuid(Uuid::from_u128(0xa000 + u128::from(k))),
                role: role.clone(),
            };
            let scope = if role.supervises() {
                Scope::All
            } else {
                Scope::Keys(BTreeSet::new())
            };
            let replica = Replica::create(MemoryReplicaStorage::new(), identity.clone(), ctx)
                .expect("new device");
            Device {
                principal: Principal {
                    user: identity.user,
                    device: identity.device,
                    role,
                    scope,
                },
                replica: Some(replica),
                mint: IdMint::new(seed.wrapping_mul(1000).wrapping_add(k)),
                clock_ms: T0.saturating_add_signed(skew),
            }
        };
        let admin = new_device(Role::Admin, 0, 0);
        let devices = roles
            .iter()
            .zip(skews)
            .enumerate()
            .map(|(i, (r, s))| new_device(r.clone(), *s, i as u64 + 1))
            .collect();
        let mut world = World {
            server: MemoryLog::new(),
            ctx,
            admin,
            devices,
            seeded: Seeded::default(),
        };
        world.seed(&mut mint, n, submitted);
        world
    }

    fn seed(&mut self, mint: &mut IdMint, n: usize, submitted: bool) {
        let area = mint.uuid(T0);
        self.seeded.area = area;
        let status = if submitted {
            "submitted"
        } else {
            "in_progress"
        };
        for i in 0..n {
            let d = mint.uuid(T0);
            let h = mint.uuid(T0);
            let iv = mint.uuid(T0);
            self.admin_create(
                dwelling(d),
                area,
                fields(&[
                    ("address/room", text(&format!("{}", 101 + i))),
                    ("occupancy", text("occupied")),
                ]),
            );
            self.admin_create(
                household(h),
                area,
                fields(&[(DWELLING_FIELD, text(&d.to_string()))]),
            );
            self.admin_create(
                interview(iv),
                iv,
                fields(&[
                    (STATUS_FIELD, text(status)),
                    ("household", text(&h.to_string())),
                    ("answers/consent", FieldValue::Bool(true)),
                ]),
            );
            self.seeded.dwellings.push(d);
            self.seeded.households.push(h);
            self.seeded.interviews.push(iv);
        }
        let sample = mint.uuid(T0);
        self.admin_create(
            target(EntityKind::Sample, sample),
            area,
            fields(&[("released/north", FieldValue::Int(1))]),
        );
        self.seeded.sample = sample;
        let keys: BTreeSet<Uuid> = std::iter::once(area)
            .chain(self.seeded.interviews.iter().copied())
            .collect();
        for d in &mut self.devices {
            if let Scope::Keys(k) = &mut d.principal.scope {
                *k = keys.clone();
            }
        }
        self.push_device(None, usize::MAX, Delivery::Normal);
    }

    fn admin_create(&mut self, t: Target, scope: Uuid, f: BTreeMap<String, FieldValue>) {
        let op_id = self.admin.mint.op_id(T0);
        self.admin
            .replica_mut()
            .act(t, OpBody::Create { scope, fields: f }, op_id, T0)
            .expect("seed");
    }

    pub fn dev(&mut self, i: usize) -> &mut Device {
        &mut self.devices[i]
    }

    fn device_mut(&mut self, i: Option<usize>) -> &mut Device {
        match i {
            Some(i) => &mut self.devices[i],
            None => &mut self.admin,
        }
    }

    /// Device `i` does something, a second after its previous action (by its own clock).
    pub fn act(
        &mut self,
        i: usize,
        t: Target,
        body: OpBody,
    ) -> Result<Verdict, ReplicaError<std::convert::Infallible>> {
        let d = &mut self.devices[i];
        d.clock_ms += 1_000;
        let op_id = d.mint.op_id(d.clock_ms);
        let now = d.clock_ms;
        d.replica_mut().act(t, body, op_id, now)
    }

    /// Device `i` edits fields of `t` (changes from what it shows).
    pub fn edit(
        &mut self,
        i: usize,
        t: Target,
        changes: &[(&str, FieldValue)],
    ) -> Result<Verdict, ReplicaError<std::convert::Infallible>> {
        let d = &mut self.devices[i];
        d.clock_ms += 1_000;
        let op_id = d.mint.op_id(d.clock_ms);
        let now = d.clock_ms;
        let changes = changes.iter().map(|(k, v)| ((*k).to_owned(), v.clone()));
        d.replica_mut().edit(t, changes, op_id, now)
    }

    /// Device `i` approves an interview at the version it last pulled.
    pub fn approve(
        &mut self,
        i: usize,
        iv: Uuid,
    ) -> Result<Verdict, ReplicaError<std::convert::Infallible>> {
        let d = &mut self.devices[i];
        d.clock_ms += 1_000;
        let op_id = d.mint.op_id(d.clock_ms);
        let now = d.clock_ms;
        d.replica_mut().approve(interview(iv), op_id, now)
    }

    /// Pushes up to `max` pending operations of a device (the admin for `None`) through the
    /// binary wire format, and delivers the acknowledgement as `delivery` says.
    pub fn push_device(&mut self, i: Option<usize>, max: usize, delivery: Delivery) -> PushAck {
        let ctx = self.ctx;
        let request = self.device_mut(i).replica().push_request(max);
        self.push_ops(i, request.ops, delivery, ctx)
    }

    /// Pushes the given operations as device `i` (the admin for `None`).
    pub fn push_ops(
        &mut self,
        i: Option<usize>,
        ops: Vec<Operation>,
        delivery: Delivery,
        ctx: MergeContext,
    ) -> PushAck {
        let principal = self.device_mut(i).principal.clone();
        let request = sync_core::sync::PushRequest {
            version: sync_core::sync::wire::WIRE_VERSION,
            device_id: principal.device,
            ops,
            extra: Default::default(),
        };
        let bytes = encode_binary(&request).expect("encode push");
        let request = decode_binary(&bytes).expect("decode push");
        let ack = push(&mut self.server, &principal, &request, &ctx).expect("push");
        let bytes = encode_binary(&ack).expect("encode ack");
        let ack: PushAck = decode_binary(&bytes).expect("decode ack");
        if delivery != Delivery::LoseAck {
            self.device_mut(i)
                .replica_mut()
                .apply_push_ack(&ack)
                .expect("apply ack");
        }
        ack
    }

    /// One pull page of `limit` entities for device `i`.
    pub fn pull_page(&mut self, i: Option<usize>, limit: u32, delivery: Delivery) -> PullResponse {
        let principal = self.device_mut(i).principal.clone();
        let request = self.device_mut(i).replica().pull_request(limit);
        let bytes = encode_binary(&request).expect("encode pull");
        let request = decode_binary(&bytes).expect("decode pull");
        let response = pull(&self.server, &principal, &request).expect("pull");
        let bytes = encode_binary(&response).expect("encode response");
        let response: PullResponse = decode_binary(&bytes).expect("decode response");
        if delivery != Delivery::LoseAck {
            self.device_mut(i)
                .replica_mut()
                .apply_pull(&response)
                .expect("apply pull");
        }
        response
    }

    /// Pulls until complete.
    pub fn pull_all(&mut self, i: usize) {
        while !self.pull_page(Some(i), 1_000, Delivery::Normal).complete {}
    }

    /// Pushes everything pending, then pulls everything.
    pub fn sync(&mut self, i: usize) -> PushAck {
        let ack = self.push_device(Some(i), usize::MAX, Delivery::Normal);
        self.pull_all(i);
        ack
    }

    /// Syncs every device, twice round, so that each sees the others' work.
    pub fn sync_all(&mut self) {
        for _ in 0..2 {
            for i in 0..self.devices.len() {
                self.sync(i);
            }
        }
    }

    pub fn server_entity(&self, id: Uuid) -> &Entity {
        self.server.get(id).expect("entity on the server")
    }

    pub fn pending(&self, i: usize) -> &[OutboxEntry] {
        self.devices[i].replica().outbox()
    }
}

/// How a message exchange goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Normal,
    /// The server processes the request; the answer never reaches the phone.
    LoseAck,
}
