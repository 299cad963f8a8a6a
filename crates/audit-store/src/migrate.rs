//! The schema, as migrations kept in the repository and applied in order.

use crate::error::StoreError;
use crate::pool::AuditStore;

/// One schema migration: `migrations/NNNN_name.sql`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Migration {
    /// Its version (NNNN), from 1, one more each.
    pub version: i32,
    /// Its name.
    pub name: &'static str,
    /// Its SQL.
    pub sql: &'static str,
}

/// Every migration, in order.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "audit_store",
        sql: include_str!("../migrations/0001_audit_store.sql"),
    },
    Migration {
        version: 2,
        name: "coverage",
        sql: include_str!("../migrations/0002_coverage.sql"),
    },
];

/// The advisory lock every migrating replica takes (an arbitrary constant:
/// "icr audit" in ASCII).
const LOCK_KEY: i64 = 0x6963_7220_6175_6469;

impl AuditStore {
    /// Brings the schema up to date: in one transaction, under an advisory
    /// lock (so that replicas starting together migrate once), creates the
    /// version table if missing and applies each migration not yet applied,
    /// in order. Returns the versions it applied (none when up to date).
    pub async fn migrate(&self) -> Result<Vec<i32>, StoreError> {
        let mut conn = self.conn().await?;
        let tx = conn
            .transaction()
            .await
            .map_err(StoreError::db("begin the migration"))?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK_KEY])
            .await
            .map_err(StoreError::db("take the migration lock"))?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS audit_schema_migrations (
                 version    integer     PRIMARY KEY,
                 name       text        NOT NULL,
                 applied_at timestamptz NOT NULL DEFAULT now()
             )",
        )
        .await
        .map_err(StoreError::db("create the migrations table"))?;
        let found: Option<i32> = tx
            .query_one("SELECT max(version) FROM audit_schema_migrations", &[])
            .await
            .map_err(StoreError::db("read the schema version"))?
            .get(0);
        let found = found.unwrap_or(0);
        let known = MIGRATIONS.last().map_or(0, |m| m.version);
        if found > known {
            return Err(StoreError::SchemaTooNew { found, known });
        }
        let mut applied = Vec::new();
        for m in MIGRATIONS.iter().filter(|m| m.version > found) {
            let fail = |source| StoreError::Migration {
                version: m.version,
                name: m.name,
                source,
            };
            tx.batch_execute(m.sql).await.map_err(fail)?;
            tx.execute(
                "INSERT INTO audit_schema_migrations (version, name) VALUES ($1, $2)",
                &[&m.version, &m.name],
            )
            .await
            .map_err(fail)?;
            applied.push(m.version);
        }
        tx.commit()
            .await
            .map_err(StoreError::db("commit the migration"))?;
        Ok(applied)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_from_one_in_order_and_named_as_their_files() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version, i as i32 + 1);
            assert!(!m.sql.trim().is_empty());
        }
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        files.sort();
        let expected: Vec<String> = MIGRATIONS
            .iter()
            .map(|m| format!("{:04}_{}.sql", m.version, m.name))
            .collect();
        assert_eq!(files, expected);
    }
}
