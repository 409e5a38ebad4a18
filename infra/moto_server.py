"""Runs the AWS emulator (moto in server mode) for the local stack and tests.

    .venv/bin/python infra/moto_server.py [--host 127.0.0.1] [--port 0]

Serves every moto backend (DynamoDB with streams, SQS, SES, ...) on
HOST:PORT; port 0 picks a free port. Once listening it prints one line,
``MOTO_PORT=<port>``, on stdout.

DynamoDB writes are serialized (see `serialize_dynamodb_writes`),
transactions check every condition before writing anything (see
`check_then_write_transactions`), a query reads its own partition or index
partition, not the whole table, and an answer's items are written as JSON
directly, not value by value through moto's serializer
(`moto_dynamodb_queries.py`), sending a
message does not count the queue's messages (see `constant_time_sends`), and
SQS calls that touch a queue's messages take turns (see `serialize_sqs`).

With ``--record-calls FILE`` it appends one JSON line per AWS call to FILE:
the caller's access key id (the local runner gives each function its own:
its binary's name), the service, the action, and the tables, indexes,
queues and secrets the call touches (see `record_calls`), and for DynamoDB the
request units DynamoDB would bill for it (see `_capacity`). The permissions
test checks the resources against what the template grants each function;
the `calls` bench prices the units.

It exits as soon as its stdin reaches end of file, so a parent that starts it
with a pipe on stdin never leaves it behind: when the parent exits or dies,
the pipe closes and the emulator stops. (Run by hand, end it with Ctrl-D or
Ctrl-C.)
"""

import argparse
import copy
import functools
import json
import logging
import os
import sys
import threading
import time

from moto.core.responses import BaseResponse
from moto.core.utils import camelcase_to_underscores as camel_to_snake
from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.server import ThreadedMotoServer
from moto.sqs.models import Queue, SQSBackend

from moto_dynamodb_queries import (
    DYNAMODB_WRITES,
    cheap_sizes,
    direct_item_responses,
    index_partitions,
    partition_queries,
)

TRANSACTION_OPS = {"ConditionCheck", "Put", "Delete", "Update"}


def constant_time_sends() -> None:
    """Makes sending and receiving cost the same with 10 or 10,000 messages
    waiting.

    moto reads single settings (ContentBasedDeduplication on a send, the
    retention period for each message a receive looks at) from the queue's
    full attribute map, whose message counts walk every message: a send costs
    O(n) and a receive O(n²) with n messages waiting. While a message is being
    sent, the map holds the FIFO settings alone (all a send reads); a receive
    reads the retention period directly; everywhere else, GetQueueAttributes
    included, the map is whole.
    """
    sending = threading.local()
    full = Queue.attributes

    def attributes(self):
        if getattr(sending, "active", False):
            if not self.fifo_queue:
                return {}
            return {a: getattr(self, camel_to_snake(a)) for a in self.FIFO_ATTRIBUTES}
        return full.fget(self)

    Queue.attributes = property(attributes)
    original = SQSBackend.send_message

    def send_message(self, *args, **kwargs):
        sending.active = True
        try:
            return original(self, *args, **kwargs)
        finally:
            sending.active = False

    SQSBackend.send_message = send_message

    def is_message_valid_based_on_retention_period(self, queue_name, message):
        retention = int(self.get_queue(queue_name).message_retention_period)
        return retention + message.sent_timestamp / 1000 > time.time()

    SQSBackend.is_message_valid_based_on_retention_period = (
        is_message_valid_based_on_retention_period
    )


def check_then_write_transactions() -> None:
    """Makes TransactWriteItems cost what its items cost.

    moto copies every table a transaction names before it starts, to restore
    them if one condition fails: with tens of thousands of items that takes
    seconds per transaction, where DynamoDB takes milliseconds. Since writes
    take turns (`serialize_dynamodb_writes`), nothing can change between
    checks and writes, so this version checks every condition first, answers
    TransactionCanceledException with per-item reasons as DynamoDB does if
    any fails, and only then writes. Should a write itself fail (an invalid
    update expression), the items written so far are put back.
    """

    def transact_write_items(self, transact_items):
        if len(transact_items) > 100:
            raise TooManyTransactionsException()
        ops = []
        seen = set()
        for item in transact_items:
            if len(item) > 1:
                raise TransactWriteSingleOpException
            op_type, op = next(iter(item.items()))
            if op_type not in TRANSACTION_OPS:
                raise ValueError("Unsupported transaction operation")
            table = self.get_table(op["TableName"])
            if op_type == "Put":
                attrs = op["Item"]
                key = {table.hash_key_attr: attrs[table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = attrs[table.range_key_attr]
            else:
                key = op["Key"]
            unique = (op["TableName"], str(dict(sorted(key.items()))))
            if unique in seen:
                raise MultipleTransactionsException()
            seen.add(unique)
            ops.append((op_type, op, key))

        reasons = []
        for op_type, op, key in ops:
            condition = op.get("ConditionExpression")
            if condition is None:
                reasons.append((None, None, None))
                continue
            current = self.get_item(op["TableName"], key)
            check = get_filter_expression(
                condition,
                op.get("ExpressionAttributeNames"),
                op.get("ExpressionAttributeValues"),
            )
            if check.expr(current):
                reasons.append((None, None, None))
                continue
            old = None
            if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                old = current.to_json()["Attributes"]
            reasons.append(("ConditionalCheckFailed", "The conditional request failed", old))
        if any(code is not None for code, _, _ in reasons):
            raise TransactionCanceledException(reasons)

        undo = []
        try:
            for op_type, op, key in ops:
                name = op["TableName"]
                if op_type == "ConditionCheck":
                    continue
                before = self.get_item(name, key)
                undo.append((name, key, copy.deepcopy(before.to_json()["Attributes"]) if before else None))
                if op_type == "Put":
                    self.put_item(name, op["Item"])
                elif op_type == "Delete":
                    self.delete_item(name, key)
                else:
                    self.update_item(
                        name,
                        key,
                        update_expression=op["UpdateExpression"],
                        expression_attribute_names=op.get("ExpressionAttributeNames"),
                        expression_attribute_values=op.get("ExpressionAttributeValues"),
                    )
        except Exception:
            for name, key, attrs in reversed(undo):
                if attrs is None:
                    self.delete_item(name, key)
                else:
                    self.put_item(name, attrs)
            raise

    DynamoDBBackend.transact_write_items = transact_write_items


def _holding(lock, method):
    """`method`, called while holding `lock`."""

    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with lock:
            return method(*args, **kwargs)

    return wrapper


def serialize_dynamodb_writes() -> None:
    """Makes DynamoDB writes take turns.

    DynamoDB applies each write and each transaction atomically; moto's
    request threads do not. With every write holding one lock, no write can
    fall between a transaction's condition checks and its writes (see
    `check_then_write_transactions`). Reads do not wait.
    """
    for name in ("put_item", "update_item", "delete_item", "transact_write_items"):
        setattr(DynamoDBBackend, name, _holding(DYNAMODB_WRITES, getattr(DynamoDBBackend, name)))


def serialize_sqs() -> None:
    """Makes SQS calls that read or change a queue's messages take turns.

    SQS hands each message to one receiver at a time; moto's request
    threads do not: two receives at once can both take a message, the
    second's receipt handle replacing the first's, so the first receiver's
    delete fails and the message hides for a whole visibility timeout (a
    stress test of 2,400 messages, 8 senders and 4 receivers lost 4 of them
    that way). Each call now holds one lock; a long poll waits outside it,
    between whole scans, as moto's own long poll does.
    """
    lock = threading.RLock()
    for name in (
        "send_message",
        "send_message_batch",
        "delete_message",
        "delete_message_batch",
        "change_message_visibility",
        "change_message_visibility_batch",
        "purge_queue",
    ):
        if hasattr(SQSBackend, name):
            setattr(SQSBackend, name, _holding(lock, getattr(SQSBackend, name)))

    receive = SQSBackend.receive_message

    def receive_message(
        self,
        queue_name,
        count,
        wait_seconds_timeout,
        visibility_timeout,
        message_attribute_names=None,
    ):
        end = time.time() + wait_seconds_timeout
        while True:
            with lock:
                got = receive(
                    self, queue_name, count, 0, visibility_timeout, message_attribute_names
                )
            if got or time.time() >= end:
                return got
            # until a message is added, or a second (in-flight messages
            # become visible again without a notification)
            self.get_queue(queue_name).wait_for_messages(min(1, max(0.05, end - time.time())))

    SQSBackend.receive_message = receive_message


def _touched(service: str, action: str, body: dict) -> list[str]:
    """The resources a call names: `table:NAME`, `index:TABLE/INDEX`,
    `stream:TABLE`, `queue:URL`, `secret:ID` (the ARN or name the call gives); a
    transaction's or batch's items each add their own, with the item's
    operation (`Put`, `Update`, `Delete`, `ConditionCheck`)."""
    out = []
    if service == "dynamodb":
        if "TableName" in body:
            table = body["TableName"]
            out.append(f"index:{table}/{body['IndexName']}" if "IndexName" in body else f"table:{table}")
        for item in body.get("TransactItems", []):
            for op, spec in item.items():
                out.append(f"{op}@table:{spec.get('TableName')}")
        for table, requests in body.get("RequestItems", {}).items():
            if isinstance(requests, list):
                for request in requests:
                    for op in request:
                        out.append(f"{op}@table:{table}")
            else:
                out.append(f"table:{table}")
    elif service == "dynamodbstreams":
        # the stream by its ARN, or by the shard iterator moto makes of it
        # (`{table ARN}/stream/{label}|1|{id}`): `stream:TABLE`
        arn = body.get("StreamArn") or body.get("ShardIterator", "").split("|", 1)[0]
        if ":table/" in arn:
            out.append(f"stream:{arn.split(':table/', 1)[1].split('/', 1)[0]}")
    elif service == "sqs" and "QueueUrl" in body:
        out.append(f"queue:{body['QueueUrl']}")
    elif service == "secretsmanager" and "SecretId" in body:
        out.append(f"secret:{body['SecretId']}")
    return sorted(set(out))


def _attribute_size(value: dict) -> int:
    """The size DynamoDB counts for one attribute value (in its JSON wire
    form): strings and binaries by their bytes, numbers by about one byte per
    two digits plus one, booleans and nulls one byte, lists and maps three
    bytes plus one per element plus the elements (and a map's names)."""
    (kind, v), = value.items()
    if kind == "S":
        return len(v.encode("utf-8"))
    if kind == "N":
        return len(v.lstrip("-").replace(".", "")) // 2 + 1
    if kind == "B":
        return len(v) * 3 // 4
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(x.encode("utf-8")) for x in v)
    if kind == "NS":
        return sum(len(x.lstrip("-").replace(".", "")) // 2 + 1 for x in v)
    if kind == "BS":
        return sum(len(x) * 3 // 4 for x in v)
    if kind == "L":
        return 3 + sum(1 + _attribute_size(x) for x in v)
    if kind == "M":
        return 3 + sum(1 + len(k.encode("utf-8")) + _attribute_size(x) for k, x in v.items())
    return 0


def _item_size(item: dict) -> int:
    """An item's size as DynamoDB bills it: attribute names and values."""
    return sum(len(k.encode("utf-8")) + _attribute_size(v) for k, v in (item or {}).items())


def _read_units(size: int, consistent: bool) -> float:
    """Read request units for `size` bytes read at once: one per started
    4 KB, half for an eventually consistent read; a read that finds nothing
    still costs the minimum."""
    units = max(1, -(-size // 4096))
    return units if consistent else units / 2


def _write_units(size: int) -> int:
    """Write request units for an item of `size` bytes: one per started KB."""
    return max(1, -(-size // 1024))


def _capacity(action: str, body: dict, answer: dict) -> dict:
    """The request units a DynamoDB call costs, from the request and the
    answer: `{"read": …, "write": …}`. Writes count the item as sent (an
    update, whose item the call does not carry, counts one unit: our items
    are under 1 KB); global secondary index writes, which DynamoDB bills on
    top when an indexed attribute changes, are not counted."""
    read = write = 0.0
    consistent = bool(body.get("ConsistentRead"))
    if action == "GetItem":
        read = _read_units(_item_size(answer.get("Item")), consistent)
    elif action in ("Query", "Scan"):
        size = sum(_item_size(i) for i in answer.get("Items", []))
        read = _read_units(size, consistent)
    elif action == "BatchGetItem":
        for table, spec in body.get("RequestItems", {}).items():
            found = answer.get("Responses", {}).get(table, [])
            strong = bool(spec.get("ConsistentRead"))
            read += sum(_read_units(_item_size(i), strong) for i in found)
            # keys asked for and not found cost the minimum each
            read += max(0, len(spec.get("Keys", [])) - len(found)) * (1 if strong else 0.5)
    elif action == "TransactGetItems":
        read = 2.0 * len(body.get("TransactItems", []))
    elif action == "PutItem":
        write = _write_units(_item_size(body.get("Item")))
    elif action in ("UpdateItem", "DeleteItem"):
        write = 1.0
    elif action == "BatchWriteItem":
        for requests in body.get("RequestItems", {}).values():
            for request in requests:
                put = request.get("PutRequest")
                write += _write_units(_item_size(put.get("Item"))) if put else 1
    elif action == "TransactWriteItems":
        for item in body.get("TransactItems", []):
            for op, spec in item.items():
                if op == "Put":
                    write += 2 * _write_units(_item_size(spec.get("Item")))
                elif op == "ConditionCheck":
                    read += 2
                else:
                    write += 2
    return {"read": read, "write": write}


def record_calls(path: str) -> None:
    """Appends every call, as one JSON line, to `path`."""
    lock = threading.Lock()
    # one handle for the whole run, flushed after each line
    out = open(path, "a", encoding="utf-8")
    original = BaseResponse.call_action

    def call_action(self):
        try:
            auth = self.headers.get("Authorization", "")
            key = auth.split("Credential=", 1)[1].split("/", 1)[0] if "Credential=" in auth else ""
            service = getattr(self, "service_name", None) or type(self).__name__
            action = self._get_action()
            body = self.body
            if isinstance(body, (str, bytes)):
                try:
                    body = json.loads(body) if body else {}
                except ValueError:
                    body = {}
            line = {
                "key": key,
                "service": service,
                "action": action,
                "resources": _touched(service, action, body if isinstance(body, dict) else {}),
            }
        except Exception as e:  # recording must never break a call
            print(f"recording a call failed: {e}", file=sys.stderr)
            return original(self)
        answer = None
        try:
            answer = original(self)
            return answer
        finally:
            # recorded after the call (a refused one too: it raised), so that
            # the units come from the answer
            try:
                if service == "dynamodb" and answer is not None:
                    sent = answer[2] if isinstance(answer, tuple) and len(answer) == 3 else answer
                    if isinstance(sent, bytes):
                        sent = sent.decode("utf-8")
                    got = json.loads(sent) if isinstance(sent, str) and sent else {}
                    line["units"] = _capacity(
                        action,
                        body if isinstance(body, dict) else {},
                        got if isinstance(got, dict) else {},
                    )
                with lock:
                    out.write(json.dumps(line) + "\n")
                    out.flush()
            except Exception as e:  # recording must never break a call
                print(f"recording a call failed: {e}", file=sys.stderr)

    BaseResponse.call_action = call_action


def one_service_model_data() -> None:
    """`/moto-api/data.json?service=ses`: the models of the named services only.

    Without the filter moto walks every tracked instance of every service
    (every DynamoDB item, every SQS message) and tries `json.dumps` on each of
    their attributes: once the tests have written thousands of items that
    takes longer than a test waits. The tests read only SES's messages.
    """
    from urllib.parse import parse_qs, urlparse

    import moto.moto_api._internal.urls as api_urls
    from moto.core.model_instances import model_data

    everything = api_urls.url_paths["{0}/moto-api/data.json"]

    def data_of(request, full_url, headers):
        wanted = parse_qs(urlparse(full_url).query).get("service")
        if not wanted:
            return everything(request, full_url, headers)
        results: dict = {}
        for service in sorted(set(wanted) & set(model_data)):
            results[service] = {}
            for name, model in sorted(model_data[service].items()):
                instances = []
                for instance in model.instances_tracked:
                    fields = {}
                    for attr in dir(instance):
                        if attr.startswith("_"):
                            continue
                        try:
                            value = getattr(instance, attr)
                            json.dumps(value)
                        except (TypeError, AttributeError, ValueError):
                            continue
                        fields[attr] = value
                    instances.append(fields)
                results[service][name] = instances
        return 200, {"Content-Type": "application/json"}, json.dumps(results)

    api_urls.url_paths["{0}/moto-api/data.json"] = data_of


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind (default 0: any free port)")
    parser.add_argument("--record-calls", metavar="FILE", help="append every AWS call, as JSON lines, to FILE")
    args = parser.parse_args()

    # One line per request is noise here; keep warnings and errors.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    partition_queries()
    index_partitions()
    direct_item_responses()
    cheap_sizes()
    constant_time_sends()
    check_then_write_transactions()
    serialize_dynamodb_writes()
    serialize_sqs()
    one_service_model_data()
    if args.record_calls:
        record_calls(args.record_calls)
    server = ThreadedMotoServer(ip_address=args.host, port=args.port, verbose=False)
    server.start()
    _, port = server.get_host_and_port()
    print(f"MOTO_PORT={port}", flush=True)

    try:
        # Blocks until the parent closes the pipe (or dies).
        while sys.stdin.buffer.read1(65536):
            pass
    except KeyboardInterrupt:
        pass
    # Everything is in memory: nothing to save, no reason to wait for the
    # request threads (long polls) to finish.
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
