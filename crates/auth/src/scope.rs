//! [`Scope`]: what an API token may do, chosen when it is created. Scopes are ordered
//! (`read` < `operate` < `admin`) and each grants its own level and those below it.

use serde::{Deserialize, Serialize};

use crate::role::Permission;

/// A token scope. Spelled in kebab-case (`read`, `operate`, `admin`) in text, JSON and the CLI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    /// Read fleet state.
    Read,
    /// Read, and change hosts (scan, patch, run checks).
    Operate,
    /// Everything, including users, tokens and server settings.
    Admin,
}

impl Scope {
    /// Every scope, lowest first.
    pub const ALL: [Scope; 3] = [Scope::Read, Scope::Operate, Scope::Admin];

    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Operate => "operate",
            Scope::Admin => "admin",
        }
    }

    /// Whether this scope grants `needed`: its own level and every level below.
    pub fn grants(self, needed: Permission) -> bool {
        let level = match self {
            Scope::Read => Permission::Read,
            Scope::Operate => Permission::Operate,
            Scope::Admin => Permission::Admin,
        };
        needed <= level
    }
}

kebab_names!(Scope, "scope", "read, operate, admin");

#[cfg(test)]
mod tests {
    use super::*;

    fn check(scope: Scope, name: &str, grants: [bool; 3]) {
        assert_eq!(scope.to_string(), name);
        assert_eq!(name.parse::<Scope>(), Ok(scope));
        assert_eq!(serde_json::to_string(&scope).unwrap(), format!("\"{name}\""));
        assert_eq!(Permission::ALL.map(|p| scope.grants(p)), grants, "{scope}");
    }

    #[test]
    fn names_and_grants() {
        //                          read   operate admin
        check(Scope::Read, "read", [true, false, false]);
        check(Scope::Operate, "operate", [true, true, false]);
        check(Scope::Admin, "admin", [true, true, true]);
    }

    #[test]
    fn unknown_names_are_refused_with_the_choices() {
        for bad in ["", "Read", "write", "admin "] {
            let error = bad.parse::<Scope>().unwrap_err();
            assert!(error.to_string().contains("read, operate, admin"), "{error}");
        }
    }
}
