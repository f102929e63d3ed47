from lsst.ts.archiver.testing.fixtures import postgres_database, postgres_server  # noqa: F401  re-export until tests/archiver/delivery and ledger are migrated
