"""Checks that the emulator's DynamoDB patches (`moto_dynamodb_queries.py`)
answer as moto does: random tables, writes and reads (queries of the table
and of its indexes with limits, start keys, both directions, key
conditions, filters, projections and counts; gets, batch gets, scans, and
writes that return the item), each sent to moto as it comes and then to
moto with the patches; every answer's body must be the same, byte for byte,
and so must every error.

    .venv/bin/python infra/moto_dynamodb_queries_check.py [--seeds N] [--ops N] [--seed S]

Exits 0 when every answer matches; otherwise prints the first difference
(seed, call, both answers) and exits 1. Run by `infra/local`'s tests.
"""

import argparse
import base64
import json
import os
import random
import sys

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")

import boto3  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402
from moto import mock_aws  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import moto_dynamodb_queries  # noqa: E402

# (name, type) of each key attribute; the pools are small so that
# partitions hold several items and sort keys tie across partitions
SCHEMAS = [
    {"hash": ("pk", "S"), "range": ("sk", "S"), "gsis": [(("g1", "S"), ("g1s", "S")), (("g2", "S"), None)]},
    {"hash": ("pk", "S"), "range": ("sk", "N"), "gsis": [(("g1", "N"), ("g1s", "S")), (("g2", "S"), ("g2s", "N"))]},
    {"hash": ("pk", "S"), "range": None, "gsis": [(("g1", "S"), ("g1s", "S")), (("g2", "B"), None)]},
    {"hash": ("pk", "N"), "range": ("sk", "B"), "gsis": [(("g1", "S"), ("g1s", "B"))]},
]


def key_value(rng, kind, pool=4):
    n = rng.randrange(pool)
    if kind == "S":
        return {"S": rng.choice(["a", "b", "ab", "é", "B", ""]) + str(n) if rng.random() < 0.9 else f"{n}"}
    if kind == "N":
        return {"N": rng.choice([str(n), str(-n), f"{n}.5", f"1e{n}", "0"])}
    return {"B": bytes([n, rng.randrange(3)])}


def any_value(rng, depth=0):
    kinds = ["S", "N", "B", "BOOL", "NULL", "SS", "NS", "BS"] + (["M", "L"] if depth < 2 else [])
    kind = rng.choice(kinds)
    if kind == "S":
        return {"S": rng.choice(["x", "hello world", "ünïcode ✓", "quote\"back\\slash", "a" * 40])}
    if kind == "N":
        return {"N": rng.choice(["1", "-2.5", "100000000000000000000", "0.001"])}
    if kind == "B":
        return {"B": bytes(rng.randrange(256) for _ in range(rng.randrange(1, 6)))}
    if kind == "BOOL":
        return {"BOOL": rng.random() < 0.5}
    if kind == "NULL":
        return {"NULL": True}
    if kind == "SS":
        return {"SS": sorted({rng.choice("abcdef") for _ in range(3)})}
    if kind == "NS":
        return {"NS": sorted({str(rng.randrange(9)) for _ in range(3)})}
    if kind == "BS":
        return {"BS": sorted({bytes([rng.randrange(9)]) for _ in range(3)})}
    if kind == "M":
        return {"M": {f"m{i}": any_value(rng, depth + 1) for i in range(rng.randrange(4))}}
    return {"L": [any_value(rng, depth + 1) for _ in range(rng.randrange(4))]}


class Scenario:
    def __init__(self, seed, ops):
        self.rng = random.Random(seed)
        self.schema = SCHEMAS[seed % len(SCHEMAS)]
        self.ops = ops
        self.keys = []

    def create(self, client):
        s = self.schema
        attrs = {s["hash"]}
        key_schema = [{"AttributeName": s["hash"][0], "KeyType": "HASH"}]
        if s["range"]:
            attrs.add(s["range"])
            key_schema.append({"AttributeName": s["range"][0], "KeyType": "RANGE"})
        gsis = []
        for i, (h, r) in enumerate(s["gsis"]):
            attrs.add(h)
            ks = [{"AttributeName": h[0], "KeyType": "HASH"}]
            if r:
                attrs.add(r)
                ks.append({"AttributeName": r[0], "KeyType": "RANGE"})
            projection = {"ProjectionType": "ALL"} if i == 0 else {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["a0"]}
            gsis.append({"IndexName": f"idx{i}", "KeySchema": ks, "Projection": projection})
        client.create_table(
            TableName="t",
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": t} for n, t in sorted(attrs)],
            KeySchema=key_schema,
            GlobalSecondaryIndexes=gsis,
            BillingMode="PAY_PER_REQUEST",
        )

    def item(self):
        rng, s = self.rng, self.schema
        item = {s["hash"][0]: key_value(rng, s["hash"][1])}
        if s["range"]:
            item[s["range"][0]] = key_value(rng, s["range"][1], 6)
        for h, r in s["gsis"]:
            if rng.random() < 0.85:
                item[h[0]] = key_value(rng, h[1], 3)
            if r and rng.random() < 0.85:
                item[r[0]] = key_value(rng, r[1], 5)
        for i in range(rng.randrange(5)):
            item[f"a{i}"] = any_value(rng)
        return item

    def key(self):
        if self.keys and self.rng.random() < 0.8:
            return dict(self.rng.choice(self.keys))
        item = self.item()
        return {k: v for k, v in item.items() if k in self.key_names()}

    def key_names(self):
        s = self.schema
        return [s["hash"][0]] + ([s["range"][0]] if s["range"] else [])

    def calls(self):
        """Each call as (operation, parameters); a query or scan with a
        limit is followed page by page (`page` marks them)."""
        rng = self.rng
        for _ in range(self.ops):
            roll = rng.random()
            if roll < 0.35:
                item = self.item()
                self.keys.append({k: item[k] for k in self.key_names()})
                params = {"TableName": "t", "Item": item}
                if rng.random() < 0.3:
                    params["ReturnValues"] = "ALL_OLD"
                yield "put_item", params
            elif roll < 0.42:
                params = {
                    "TableName": "t",
                    "Key": self.key(),
                    "UpdateExpression": "SET a0 = :v, a9 = :w",
                    "ExpressionAttributeValues": {":v": any_value(rng), ":w": any_value(rng)},
                }
                params["ReturnValues"] = rng.choice(["NONE", "ALL_NEW", "ALL_OLD", "UPDATED_NEW"])
                yield "update_item", params
            elif roll < 0.47:
                yield "delete_item", {"TableName": "t", "Key": self.key(), "ReturnValues": rng.choice(["NONE", "ALL_OLD"])}
            elif roll < 0.55:
                params = {"TableName": "t", "Key": self.key()}
                if rng.random() < 0.3:
                    params["ProjectionExpression"] = "a0, #p"
                    params["ExpressionAttributeNames"] = {"#p": self.key_names()[0]}
                yield "get_item", params
            elif roll < 0.6:
                keys = {json.dumps(self.key(), sort_keys=True, default=repr): None for _ in range(3)}
                yield "batch_get_item", {"RequestItems": {"t": {"Keys": [self.key() for _ in keys]}}}
            elif roll < 0.65:
                yield "scan", {"TableName": "t", "Limit": rng.randrange(1, 20)}
            else:
                yield "query", self.query()

    def query(self):
        rng, s = self.rng, self.schema
        choices = [(None, s["hash"], s["range"])] + [(f"idx{i}", h, r) for i, (h, r) in enumerate(s["gsis"])]
        index, h, r = rng.choice(choices)
        params = {"TableName": "t", "ExpressionAttributeNames": {"#h": h[0]}, "ExpressionAttributeValues": {":h": key_value(rng, h[1], 3)}}
        if index:
            params["IndexName"] = index
        cond = "#h = :h"
        if r and rng.random() < 0.4:
            params["ExpressionAttributeNames"]["#r"] = r[0]
            op = rng.choice(["=", "<", "<=", ">", ">=", "BETWEEN", "begins_with"] if r[1] != "N" else ["=", "<", ">=", "BETWEEN"])
            params["ExpressionAttributeValues"][":r"] = key_value(rng, r[1], 5)
            if op == "BETWEEN":
                params["ExpressionAttributeValues"][":r2"] = key_value(rng, r[1], 5)
                cond += " AND #r BETWEEN :r AND :r2"
            elif op == "begins_with":
                cond += " AND begins_with(#r, :r)"
            else:
                cond += f" AND #r {op} :r"
        params["KeyConditionExpression"] = cond
        if rng.random() < 0.7:
            params["Limit"] = rng.randrange(1, 6)
        if rng.random() < 0.3:
            params["ScanIndexForward"] = False
        if rng.random() < 0.25:
            params["FilterExpression"] = rng.choice(["attribute_exists(a0)", "attribute_not_exists(a1)", "a2 <> :one"])
            if ":one" in params["FilterExpression"]:
                params["ExpressionAttributeValues"][":one"] = {"N": "1"}
        if rng.random() < 0.2:
            params["ProjectionExpression"] = "#h, a1"
        elif rng.random() < 0.1:
            params["Select"] = "COUNT"
        if rng.random() < 0.2:
            params["ReturnConsumedCapacity"] = rng.choice(["TOTAL", "INDEXES"])
        return params


def run(seed, ops):
    """Every answer of the scenario `seed`: each call's body, or its error."""
    answers = []
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        bodies = []
        client.meta.events.register("after-call.dynamodb", lambda http_response, **_: bodies.append(http_response.content))
        scenario = Scenario(seed, ops)
        scenario.create(client)
        for op, params in scenario.calls():
            while True:
                try:
                    out = getattr(client, op)(**params)
                    answers.append((op, params, bodies[-1]))
                except ClientError as e:
                    answers.append((op, params, f"{e.response['Error']['Code']}: {e.response['Error'].get('Message')}"))
                    break
                except Exception as e:  # moto's own failures must match too
                    answers.append((op, params, f"{type(e).__name__}: {e}"))
                    break
                start = out.get("LastEvaluatedKey")
                if op not in ("query", "scan") or not start:
                    break
                params = dict(params, ExclusiveStartKey=start)
    return answers


def show(value):
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")[:2000]
    return json.dumps(value, default=lambda b: base64.b64encode(b).decode() if isinstance(b, bytes) else repr(b))[:2000]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=12, help="scenarios to run (default 12)")
    parser.add_argument("--ops", type=int, default=100, help="calls per scenario, pages apart (default 100)")
    parser.add_argument("--seed", type=int, default=None, help="run this scenario alone")
    args = parser.parse_args()
    seeds = [args.seed] if args.seed is not None else list(range(args.seeds))

    before = {seed: run(seed, args.ops) for seed in seeds}
    moto_dynamodb_queries.partition_queries()
    moto_dynamodb_queries.index_partitions()
    moto_dynamodb_queries.direct_item_responses()
    moto_dynamodb_queries.cheap_sizes()
    calls = 0
    for seed in seeds:
        after = run(seed, args.ops)
        for i, (a, b) in enumerate(zip(before[seed], after)):
            calls += 1
            if a[2] != b[2] or a[1] != b[1]:
                print(f"seed {seed}, call {i}: {a[0]} {show(a[1])}")
                print(f"  moto:        {show(a[2])}")
                print(f"  with patches:{show(b[2])}")
                if a[1] != b[1]:
                    print(f"  (the call differs: {show(b[1])})")
                return 1
        if len(before[seed]) != len(after):
            print(f"seed {seed}: {len(before[seed])} answers from moto, {len(after)} with the patches")
            return 1
    print(f"{calls} answers in {len(seeds)} scenarios: the same with the patches as without")
    return 0


if __name__ == "__main__":
    sys.exit(main())
