"""The schema registry as an asset: the contract as published to DynamoDB."""
