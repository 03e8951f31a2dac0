//! Roles and the permission matrix: one exhaustive match from (role,
//! action) to allowed, so adding an action or a role does not compile
//! until every cell is decided. The README documents the same table.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Member,
    Viewer,
}

impl TryFrom<&str> for Role {
    type Error = String;
    fn try_from(s: &str) -> Result<Role, String> {
        match s {
            "admin" => Ok(Role::Admin),
            "member" => Ok(Role::Member),
            "viewer" => Ok(Role::Viewer),
            _ => Err("must be one of admin, member, viewer".into()),
        }
    }
}

/// Everything a signed-in user can ask for. "Own" actions are about the
/// user's own resources; acting on someone else's needs the admin action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// The status page, `/api/v1/status`, the event stream, history.
    ReadStatus,
    /// Who am I; list and revoke one's own sessions; change one's password;
    /// enrol two-factor login.
    ManageOwnAccount,
    /// Create, list and revoke one's own API tokens.
    ManageOwnTokens,
    /// One's own virtual servers and their domains.
    ManageOwnServers,
    /// Anyone's virtual servers and domains.
    ManageAllServers,
    /// Create, change and delete users.
    ManageUsers,
    /// Read the audit log (and its event topic).
    ReadAudit,
    /// Box settings: name, time zone, domain, firewall, `public_status`.
    ManageSettings,
}

pub fn allowed(role: Role, action: Action) -> bool {
    use Action::*;
    match (role, action) {
        (Role::Admin, _) => true,
        (Role::Member, ReadStatus | ManageOwnAccount | ManageOwnTokens | ManageOwnServers) => true,
        (Role::Member, ManageAllServers | ManageUsers | ReadAudit | ManageSettings) => false,
        (Role::Viewer, ReadStatus | ManageOwnAccount | ManageOwnTokens) => true,
        (
            Role::Viewer,
            ManageOwnServers | ManageAllServers | ManageUsers | ReadAudit | ManageSettings,
        ) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Action::*;

    const ALL: [Action; 8] = [
        ReadStatus,
        ManageOwnAccount,
        ManageOwnTokens,
        ManageOwnServers,
        ManageAllServers,
        ManageUsers,
        ReadAudit,
        ManageSettings,
    ];

    #[test]
    fn the_matrix() {
        let expect =
            |role: Role| -> Vec<Action> { ALL.into_iter().filter(|a| allowed(role, *a)).collect() };
        assert_eq!(expect(Role::Admin), ALL.to_vec());
        assert_eq!(
            expect(Role::Member),
            vec![
                ReadStatus,
                ManageOwnAccount,
                ManageOwnTokens,
                ManageOwnServers
            ]
        );
        assert_eq!(
            expect(Role::Viewer),
            vec![ReadStatus, ManageOwnAccount, ManageOwnTokens]
        );
    }

    #[test]
    fn roles_parse() {
        assert_eq!(Role::try_from("member"), Ok(Role::Member));
        assert!(Role::try_from("root").is_err());
    }
}
