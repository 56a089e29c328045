"""Operator actions on an AWS account (or the local stack): deploy the stacks, publish the contract to
the schema registry, summarise and redrive dead letters. No Dagster here."""
