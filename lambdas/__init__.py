"""The four AWS Lambda functions and what they share. Never imports pandas, pyarrow or dagster."""
