//! What the API asks of the firewall: read the policy, change it (checked
//! by the kernel first, then applied by the manager and awaited), and
//! confirm a change within its window. The manager reports each apply
//! here ([`FirewallService::applied`]), which is what a change waits on
//! and what makes a confirmation count.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::watch;

use super::adapter::Nft;
use super::error::FirewallError;
use super::model::{Invalid, Policy};
use super::render::{self, RenderInput};
use super::stored::{self, Abort, Pending, StoredPolicy};
use crate::accounts::Caller;
use crate::clock::now_ms;
use crate::connection_epoch::{AcceptedIn, ConnectionEpoch};
use crate::reconcile::Observation;
use crate::store::{AuditAction, Store, StoreError};

/// How long a change may take to be applied before the API gives up
/// waiting (the manager keeps trying; the window still runs).
const APPLY_WAIT: Duration = Duration::from_secs(20);

/// What the manager last did.
#[derive(Debug, Clone, Default)]
pub struct ApplyState {
    /// The version last put into the kernel.
    pub version: Option<u64>,
    /// The last version that failed to apply, and why.
    pub failure: Option<(u64, String)>,
    /// The pending version in force, and the connection epoch it started:
    /// a confirmation counts over a connection of that epoch or later.
    pub confirmable: Option<(u64, u64)>,
}

pub struct FirewallService {
    store: Store,
    /// `nft`, or why hearth does not manage the kernel's firewall here
    /// (`--dev`): the policy is then kept but not applied.
    nft: Observation<Arc<dyn Nft>>,
    https_port: u16,
    window: Duration,
    epoch: ConnectionEpoch,
    applied: watch::Sender<ApplyState>,
}

/// What `PUT /api/v1/firewall` asks for.
pub struct ChangeRequest {
    pub policy: Policy,
    /// Keep the change only if confirmed within the window.
    pub confirm: bool,
    /// The admin knows the change cuts their own address off.
    pub drop_my_access: bool,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ChangeOutcome {
    pub version: u64,
    /// In force in the kernel (false where the firewall is not managed).
    pub applied: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confirm_by_ms: Option<u64>,
}

/// `GET /api/v1/firewall`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FirewallView {
    pub version: u64,
    pub policy: Policy,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending: Option<PendingView>,
    pub managed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_managed: Option<String>,
    /// hearth's own port, which `https_from` opens.
    pub https_port: u16,
    pub confirm_seconds: u64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PendingView {
    pub version: u64,
    pub confirm_by_ms: u64,
    pub by: String,
}

impl FirewallService {
    pub fn new(
        store: Store,
        nft: Observation<Arc<dyn Nft>>,
        https_port: u16,
        window: Duration,
        epoch: ConnectionEpoch,
    ) -> FirewallService {
        FirewallService {
            store,
            nft,
            https_port,
            window,
            epoch,
            applied: watch::channel(ApplyState::default()).0,
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn https_port(&self) -> u16 {
        self.https_port
    }

    pub fn nft(&self) -> Option<&Arc<dyn Nft>> {
        self.nft.present()
    }

    /// The script for `policy` with the stored user plane.
    pub fn render(&self, policy: &Policy) -> Result<String, StoreError> {
        let servers = crate::plane::stored::load(&self.store)?;
        Ok(render::ruleset(RenderInput {
            policy,
            servers: &servers,
            https_port: self.https_port,
        }))
    }

    pub fn view(&self) -> Result<FirewallView, StoreError> {
        let StoredPolicy { version, policy } = stored::policy(&self.store)?;
        let pending = stored::pending(&self.store)?.map(|p| PendingView {
            version: p.version,
            confirm_by_ms: p.deadline_ms,
            by: p.by,
        });
        Ok(FirewallView {
            version,
            policy,
            pending,
            managed: self.nft().is_some(),
            not_managed: self.nft.not_present().map(str::to_owned),
            https_port: self.https_port,
            confirm_seconds: self.window.as_secs(),
        })
    }

    /// Called by the manager after each apply.
    pub fn applied(&self, version: u64, pending_version: Option<u64>) {
        let current = self.applied.borrow().confirmable;
        let confirmable = match current {
            // Put back again (drift): the epoch it started stays.
            Some((v, _)) if v == version && pending_version == Some(version) => current,
            // A change awaiting confirmation now in force: only a client
            // that reaches the box anew, through it, may confirm it.
            _ if pending_version == Some(version) => Some((version, self.epoch.renew())),
            _ => None,
        };
        self.applied.send_modify(|s| {
            s.version = Some(version);
            s.confirmable = confirmable;
        });
    }

    pub fn apply_failed(&self, version: u64, why: String) {
        self.applied
            .send_modify(|s| s.failure = Some((version, why)));
    }

    /// Checks, stores and (where managed) applies a new policy, and waits
    /// until it is in force or refused.
    pub async fn change(
        &self,
        caller: &Caller,
        request: ChangeRequest,
        source: IpAddr,
    ) -> Result<ChangeOutcome, FirewallError> {
        let ChangeRequest {
            policy,
            confirm,
            drop_my_access,
        } = request;
        policy.check_ports(self.https_port)?;
        let source = source.to_canonical();
        if !policy.reaches_https(source) {
            if !drop_my_access {
                return Err(Invalid {
                    field: "https_from".into(),
                    message: format!(
                        "does not include {source}, the address this change comes from: you would lose this page. Add it, or set drop_my_access if you mean it"
                    ),
                }
                .into());
            }
            // Never for good without proof that someone still gets in:
            // the confirmation must come from an address that keeps access.
            if !confirm && self.nft().is_some() {
                return Err(Invalid {
                    field: "confirm".into(),
                    message: "must be on for a change that cuts off your own address: confirm it from an address that keeps access".into(),
                }
                .into());
            }
        }
        if let Some(nft) = self.nft() {
            // The kernel's word before anything is stored.
            let script = self.render(&policy)?;
            nft.check(&script).await?;
        }
        let managed = self.nft().is_some();
        let window = self.window;
        let store = self.store.clone();
        let by = caller.username.clone();
        let entry = caller.audit(
            AuditAction::FirewallChange,
            if confirm && managed {
                "awaiting confirmation"
            } else {
                "without confirmation"
            },
            source,
        );
        let mut rx = self.applied.subscribe();
        let (version, before, pending) = tokio::task::spawn_blocking(move || {
            store.change(entry, |c| {
                let current = stored::policy_in(c)?;
                let existing = stored::pending_in(c)?;
                let version = current.version + 1;
                // What a rollback restores: the last confirmed policy.
                let previous = existing
                    .as_ref()
                    .map(|p| p.previous.clone())
                    .unwrap_or_else(|| current.policy.clone());
                let pending = (confirm && managed).then(|| Pending {
                    version,
                    previous,
                    deadline_ms: now_ms() + window.as_millis() as u64,
                    by,
                });
                stored::put_policy(c, &StoredPolicy { version, policy })?;
                stored::put_pending(c, pending.as_ref())?;
                Ok::<_, StoreError>((version, (current, existing), pending))
            })
        })
        .await
        .map_err(|_| FirewallError::ApplyTimedOut)??;
        if !managed {
            return Ok(ChangeOutcome {
                version,
                applied: false,
                confirm_by_ms: None,
            });
        }
        let waited = tokio::time::timeout(
            APPLY_WAIT,
            rx.wait_for(|s| {
                s.version.is_some_and(|v| v >= version)
                    || s.failure.as_ref().is_some_and(|(v, _)| *v >= version)
            }),
        )
        .await
        .map(|r| r.map(|state| state.clone()));
        let Ok(Ok(state)) = waited else {
            return Err(FirewallError::ApplyTimedOut);
        };
        if let Some((v, why)) = state.failure.filter(|(v, _)| *v >= version)
            && state.version.is_none_or(|applied| applied < v)
        {
            self.restore(before, version).await?;
            return Err(FirewallError::Nft(super::error::NftError::Refused {
                message: why,
            }));
        }
        Ok(ChangeOutcome {
            version,
            applied: true,
            confirm_by_ms: pending.map(|p| p.deadline_ms),
        })
    }

    /// Puts back what was in force before change `failed` (whose apply the
    /// kernel refused), as a new version.
    async fn restore(
        &self,
        (before, pending): (StoredPolicy, Option<Pending>),
        failed: u64,
    ) -> Result<(), FirewallError> {
        let store = self.store.clone();
        let entry = crate::store::AuditEntry::system(AuditAction::FirewallRollback, "apply failed");
        tokio::task::spawn_blocking(move || {
            let result = store.change(entry, |c| {
                let current = stored::policy_in(c)?;
                if current.version != failed {
                    return Err(Abort::Nothing); // changed again meanwhile
                }
                stored::put_policy(
                    c,
                    &StoredPolicy {
                        version: failed + 1,
                        policy: before.policy,
                    },
                )?;
                stored::put_pending(c, pending.as_ref())?;
                Ok(())
            });
            match result {
                Ok(()) | Err(Abort::Nothing) => Ok(()),
                Err(Abort::Store(e)) => Err(e),
            }
        })
        .await
        .map_err(|_| FirewallError::ApplyTimedOut)??;
        Ok(())
    }

    /// Keeps the change awaiting confirmation. It counts only over a
    /// connection accepted after the change took effect.
    pub fn confirm(
        &self,
        caller: &Caller,
        source: IpAddr,
        accepted_in: AcceptedIn,
    ) -> Result<u64, FirewallError> {
        let Some(pending) = stored::pending(&self.store)? else {
            return Err(FirewallError::CannotConfirm(
                "there is no change awaiting confirmation",
            ));
        };
        let confirmable = self.applied.borrow().confirmable;
        match confirmable {
            Some((version, epoch)) if version == pending.version => {
                if accepted_in.0 < epoch {
                    return Err(FirewallError::CannotConfirm(
                        "this connection was made before the change took effect, so it proves nothing; confirm over a new connection (reload the page)",
                    ));
                }
            }
            _ => {
                return Err(FirewallError::CannotConfirm(
                    "the change is not in force yet; confirm once it is",
                ));
            }
        }
        let version = pending.version;
        let entry = caller.audit(
            AuditAction::FirewallConfirm,
            &format!("version {version}"),
            source,
        );
        let result = self.store.change(entry, |c| {
            match stored::pending_in(c)? {
                Some(p) if p.version == version => stored::put_pending(c, None)?,
                _ => return Err(Abort::Nothing),
            }
            Ok(())
        });
        match result {
            Ok(()) => Ok(version),
            Err(Abort::Nothing) => Err(FirewallError::CannotConfirm(
                "the change is no longer awaiting confirmation",
            )),
            Err(Abort::Store(e)) => Err(e.into()),
        }
    }
}
