"""The Athena views BI tools read, with their SQL beside them."""
