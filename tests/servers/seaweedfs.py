from lsst.ts.archiver.testing.fixtures import s3_bucket, seaweedfs  # noqa: F401  re-export until tests/archiver/delivery and ledger are migrated
