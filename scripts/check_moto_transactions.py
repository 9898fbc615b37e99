"""Checks that the moto_server of the test suite keeps TransactWriteItems all-or-nothing.

scripts/moto_server.py replaces moto's whole-table backup with a backup of the items a transaction
names; the tests' race and recovery checks rely on a cancelled transaction leaving nothing behind.
This runs a cancelled and a successful transaction against the server and checks what it holds.

Usage: python scripts/check_moto_transactions.py ENDPOINT
"""
import sys
import uuid

import boto3

client = boto3.client(
    "dynamodb",
    endpoint_url=sys.argv[1],
    region_name="us-east-1",
    aws_access_key_id="testing",
    aws_secret_access_key="testing",
)
table = f"txn-check-{uuid.uuid4().hex[:8]}"
client.create_table(
    TableName=table,
    KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
    BillingMode="PAY_PER_REQUEST",
)


def key(pk):
    return {"pk": {"S": pk}, "sk": {"S": pk}}


def get(pk):
    return client.get_item(TableName=table, Key=key(pk)).get("Item")


def transaction(expected_head):
    return [
        {"Update": {"TableName": table, "Key": key("REQ"), "UpdateExpression": "SET v = :n",
                    "ExpressionAttributeValues": {":n": {"N": "6"}}}},
        {"Put": {"TableName": table, "Item": key("EVT")}},
        {"Delete": {"TableName": table, "Key": key("OLD")}},
        {"Update": {"TableName": table, "Key": key("HEAD"), "UpdateExpression": "SET v = :n",
                    "ConditionExpression": "v = :o",
                    "ExpressionAttributeValues": {":n": {"N": "2"}, ":o": {"N": expected_head}}}},
    ]


try:
    client.put_item(TableName=table, Item={**key("HEAD"), "v": {"N": "1"}})
    client.put_item(TableName=table, Item={**key("REQ"), "v": {"N": "5"}, "b": {"B": b"\x00\xff"}})
    client.put_item(TableName=table, Item={**key("OLD"), "v": {"N": "7"}})
    before = {pk: get(pk) for pk in ("HEAD", "REQ", "EVT", "OLD")}
    try:
        client.transact_write_items(TransactItems=transaction("9"))
        sys.exit("moto check: a transaction whose condition failed was applied")
    except client.exceptions.TransactionCanceledException:
        pass
    after = {pk: get(pk) for pk in ("HEAD", "REQ", "EVT", "OLD")}
    if after != before:
        sys.exit(f"moto check: a cancelled transaction changed the table: {before} -> {after}")
    client.transact_write_items(TransactItems=transaction("1"))
    done = {pk: get(pk) for pk in ("HEAD", "REQ", "EVT", "OLD")}
    if done["HEAD"]["v"] != {"N": "2"} or done["REQ"]["v"] != {"N": "6"} or done["EVT"] is None or done["OLD"]:
        sys.exit(f"moto check: a successful transaction was not applied whole: {done}")
    print("moto check: TransactWriteItems is all-or-nothing")
finally:
    client.delete_table(TableName=table)
