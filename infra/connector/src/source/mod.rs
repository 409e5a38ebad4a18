//! Reading the directory over LDAP.
