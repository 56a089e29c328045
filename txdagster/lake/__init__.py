"""AWS-facing pieces of the lake: clients, S3 listing, the Glue catalog and the query engines."""
