//! [`Role`]s of users, the [`Permission`] each route requires, and [`allows`], the one check
//! every route makes. A user session acts with its role; an API token acts with the
//! intersection of its owner's role and its [`Scope`]s.

use serde::{Deserialize, Serialize};

use crate::scope::Scope;

/// A user's role. Spelled in kebab-case (`admin`, `operator`, `viewer`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Everything: users, tokens, settings, and what operators do.
    Admin,
    /// Read fleet state and act on hosts.
    Operator,
    /// Read fleet state only.
    Viewer,
}

/// What a route requires. Ordered: `Read` < `Operate` < `Admin`; a higher permission includes
/// the lower ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Permission {
    /// Read fleet state.
    Read,
    /// Change hosts: scans, patches, checks.
    Operate,
    /// Administer the server: users, tokens, settings.
    Admin,
}

impl Permission {
    /// Every permission, lowest first.
    pub const ALL: [Permission; 3] = [Permission::Read, Permission::Operate, Permission::Admin];

    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::Read => "read",
            Permission::Operate => "operate",
            Permission::Admin => "admin",
        }
    }
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 3] = [Role::Admin, Role::Operator, Role::Viewer];

    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Operator => "operator",
            Role::Viewer => "viewer",
        }
    }

    /// Whether the role grants `needed`: viewer reads, operator reads and operates, admin does
    /// everything.
    pub fn grants(self, needed: Permission) -> bool {
        let level = match self {
            Role::Viewer => Permission::Read,
            Role::Operator => Permission::Operate,
            Role::Admin => Permission::Admin,
        };
        needed <= level
    }
}

/// Whether a caller may use a route that requires `needed`.
///
/// `scopes` is `None` for a user session (the role alone decides) and `Some` for an API token,
/// which must be allowed by its owner's role *and* by at least one of its scopes. A token with
/// no scopes (`Some(&[])`) may do nothing.
pub fn allows(role: Role, scopes: Option<&[Scope]>, needed: Permission) -> bool {
    role.grants(needed) && scopes.is_none_or(|scopes| scopes.iter().any(|s| s.grants(needed)))
}

kebab_names!(Role, "role", "admin, operator, viewer");
kebab_names!(Permission, "permission", "read, operate, admin");

#[cfg(test)]
mod tests {
    use super::*;
    use Permission as P;
    use Role::{Admin, Operator, Viewer};
    use Scope::{Admin as SA, Operate as SO, Read as SR};

    /// Expected answers of `allows` for (read, operate, admin).
    type Expect = [bool; 3];

    fn check(role: Role, scopes: Option<&[Scope]>, expect: Expect) {
        let got = P::ALL.map(|needed| allows(role, scopes, needed));
        assert_eq!(got, expect, "role {role}, scopes {scopes:?}");
    }

    #[test]
    fn every_role_scope_set_and_permission() {
        const Y: bool = true;
        const N: bool = false;
        #[rustfmt::skip]
        let table: &[(Role, Option<&[Scope]>, Expect)] = &[
            //  role      scopes                      read operate admin
            (Admin,    None,                       [Y, Y, Y]),
            (Admin,    Some(&[]),                  [N, N, N]),
            (Admin,    Some(&[SR]),                [Y, N, N]),
            (Admin,    Some(&[SO]),                [Y, Y, N]),
            (Admin,    Some(&[SA]),                [Y, Y, Y]),
            (Admin,    Some(&[SR, SO]),            [Y, Y, N]),
            (Admin,    Some(&[SR, SA]),            [Y, Y, Y]),
            (Admin,    Some(&[SO, SA]),            [Y, Y, Y]),
            (Admin,    Some(&[SR, SO, SA]),        [Y, Y, Y]),
            (Operator, None,                       [Y, Y, N]),
            (Operator, Some(&[]),                  [N, N, N]),
            (Operator, Some(&[SR]),                [Y, N, N]),
            (Operator, Some(&[SO]),                [Y, Y, N]),
            (Operator, Some(&[SA]),                [Y, Y, N]),
            (Operator, Some(&[SR, SO]),            [Y, Y, N]),
            (Operator, Some(&[SR, SA]),            [Y, Y, N]),
            (Operator, Some(&[SO, SA]),            [Y, Y, N]),
            (Operator, Some(&[SR, SO, SA]),        [Y, Y, N]),
            (Viewer,   None,                       [Y, N, N]),
            (Viewer,   Some(&[]),                  [N, N, N]),
            (Viewer,   Some(&[SR]),                [Y, N, N]),
            (Viewer,   Some(&[SO]),                [Y, N, N]),
            (Viewer,   Some(&[SA]),                [Y, N, N]),
            (Viewer,   Some(&[SR, SO]),            [Y, N, N]),
            (Viewer,   Some(&[SR, SA]),            [Y, N, N]),
            (Viewer,   Some(&[SO, SA]),            [Y, N, N]),
            (Viewer,   Some(&[SR, SO, SA]),        [Y, N, N]),
        ];
        assert_eq!(table.len(), 3 * 9, "3 roles × (session + 8 scope sets)");
        for &(role, scopes, expect) in table {
            check(role, scopes, expect);
            // Order and duplicates in the scope list do not matter.
            if let Some(scopes) = scopes {
                let mut reversed: Vec<Scope> = scopes.iter().rev().copied().collect();
                reversed.extend_from_slice(scopes);
                check(role, Some(&reversed), expect);
            }
        }
    }

    #[test]
    fn names_round_trip() {
        for (role, name) in [(Admin, "admin"), (Operator, "operator"), (Viewer, "viewer")] {
            assert_eq!(role.to_string(), name);
            assert_eq!(name.parse::<Role>(), Ok(role));
            assert_eq!(serde_json::to_string(&role).unwrap(), format!("\"{name}\""));
        }
        for (permission, name) in [(P::Read, "read"), (P::Operate, "operate"), (P::Admin, "admin")]
        {
            assert_eq!(permission.to_string(), name);
            assert_eq!(name.parse::<Permission>(), Ok(permission));
            assert_eq!(serde_json::to_string(&permission).unwrap(), format!("\"{name}\""));
        }
        assert_eq!(
            "root".parse::<Role>().unwrap_err().to_string(),
            "unknown role `root`: expected one of admin, operator, viewer"
        );
        assert!("Read".parse::<Permission>().is_err());
    }
}
