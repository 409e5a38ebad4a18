"""The local stack's emulator answers a DynamoDB query in the time its
partition takes, as DynamoDB does, not in the time the whole table takes:
moto reads (and sorts) every item of a table for each query. Used by
`moto_server.py`, which applies `partition_queries` and `index_partitions`
before it serves, and, so that answering a page costs less than moto's
generic serializer makes it cost, `direct_item_responses` and `cheap_sizes`.
`moto_dynamodb_queries_check.py` checks that the answers are moto's own, on
random tables and queries.
"""

import base64
import bisect
import functools
import inspect
import json
import threading

from moto import settings
from moto.core.responses import ActionResult
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.utilities import dynamo_to_dict
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoResult


class _Partition:
    """A table seen through one partition: what a base-table query reads."""

    def __init__(self, table, hash_key):
        self._table = table
        self._hash_key = hash_key

    def __getattr__(self, name):
        return getattr(self._table, name)

    def all_items(self):
        part = self._table.items.get(self._hash_key)
        if part is None:
            return []
        if not self._table.range_key_attr:
            return [part]
        return sorted(part.values(), key=lambda x: x.range_key)


class _Unsorted:
    """A table whose full listing is not sorted first (an index query sorts
    what it keeps)."""

    def __init__(self, table):
        self._table = table

    def __getattr__(self, name):
        return getattr(self._table, name)

    def all_items(self):
        if not self._table.range_key_attr:
            return list(self._table.items.values())
        return [i for part in self._table.items.values() for i in part.values()]


# Every DynamoDB write holds this lock (`serialize_dynamodb_writes`); the
# index partitions (`index_partitions`) change under it too.
DYNAMODB_WRITES = threading.RLock()


class _IndexPartition:
    """A table seen through one partition of a secondary index: what an
    index query reads."""

    def __init__(self, table, items):
        self._table = table
        self._items = items

    def __getattr__(self, name):
        return getattr(self._table, name)

    def all_items(self):
        return self._items


class _IndexMap:
    """One secondary index of one table: each of its partitions (a hash key
    value) as the sorted list of its items' sort keys, as moto orders an
    index query (the index's range key, then the table's keys), kept by every
    write (`index_partitions`). Like DynamoDB's index, it holds the items
    that have every key attribute of the index."""

    def __init__(self, table, index):
        self.table = table
        self.attr = next(k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH")
        ranges = [k["AttributeName"] for k in index.schema if k["KeyType"] == "RANGE"]
        if not ranges:
            # moto sorts an index without a range key by the table's range
            # key (its hash key, with none) first
            ranges = [table.range_key_attr or table.hash_key_attr]
        self.order = ranges + [table.hash_key_attr] + ([table.range_key_attr] if table.range_key_attr else [])
        self.parts = {}
        self.keys = {}
        self.where = {}
        for item in _Unsorted(table).all_items():
            self.put(item)

    def sort_key(self, attrs):
        """The sort key of an item's attributes (or a start key's), or None
        when one is missing."""
        if not all(a in attrs for a in self.order):
            return None
        return tuple(
            (v if isinstance(v, DynamoType) else DynamoType(v)).cast_value
            for v in (attrs[a] for a in self.order)
        )

    def put(self, item):
        value = item.attrs.get(self.attr)
        sort_key = self.sort_key(item.attrs)
        if value is None or sort_key is None:
            return
        key = (item.hash_key, item.range_key)
        bisect.insort(self.parts.setdefault(value, []), sort_key)
        self.keys[sort_key] = key
        self.where[key] = (value, sort_key)

    def drop(self, key):
        found = self.where.pop(key, None)
        if found is None:
            return
        value, sort_key = found
        part = self.parts[value]
        del part[bisect.bisect_left(part, sort_key)]
        if not part:
            del self.parts[value]
        del self.keys[sort_key]

    def page(self, value, call):
        """The items of the partition `value` a query can reach (a
        snapshot): for a forward query, those after its exclusive start key
        and, with no condition on the range key and no legacy filter (which
        skip items without counting them), one more than its limit, so that
        moto still sees that more follow. moto filters, skips, sorts and
        limits what it is given as before; this spares it the items it would
        compare one by one in Python to pass them by."""
        part = self.parts.get(value, [])
        first, last = 0, len(part)
        if call.get("scan_index_forward") is not False:
            start = call.get("exclusive_start_key")
            after = self.sort_key(start) if start else None
            if after is not None:
                first = bisect.bisect_right(part, after)
            limit = call.get("limit")
            if limit and not call.get("range_comparison") and not call.get("filter_kwargs"):
                last = min(last, first + limit + 1)
        out = []
        for sort_key in part[first:last]:
            item = _stored(self.table, self.keys[sort_key])
            if item is not None:
                out.append(item)
        return out


# (table name, index name) → _IndexMap, built at a first query of the index
_INDEX_MAPS = {}


def _index_map(table, index_name):
    """The index's map, or None when its key is not one attribute."""
    index = next((i for i in table.all_indexes() if i.name == index_name), None)
    if index is None:
        return None
    hashes = [k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH"]
    if len(hashes) != 1:
        return None
    found = _INDEX_MAPS.get((table.name, index_name))
    if found is None or found.table is not table:
        found = _IndexMap(table, index)
        _INDEX_MAPS[(table.name, index_name)] = found
    return found


def _key_of(table, attrs):
    """The primary key (hash, range) of an item's attributes or key, as the
    table stores it."""
    hash_key = DynamoType(attrs[table.hash_key_attr])
    range_key = DynamoType(attrs[table.range_key_attr]) if table.range_key_attr else None
    return hash_key, range_key


def _stored(table, key):
    """The item stored at the primary key `key`, or None."""
    hash_key, range_key = key
    part = table.items.get(hash_key)
    if part is None or not table.range_key_attr:
        return part
    return part.get(range_key)


def _written(backend, table_name, key):
    """Brings every index map of `table_name` up to date with the item at
    `key` (an item or its key attributes) after a write."""
    maps = [m for (name, _), m in _INDEX_MAPS.items() if name == table_name]
    if not maps:
        return
    table = backend.get_table(table_name)
    pk = _key_of(table, key)
    item = _stored(table, pk)
    for m in maps:
        if m.table is not table:
            continue
        m.drop(pk)
        if item is not None:
            m.put(item)


def index_partitions() -> None:
    """Makes an index query cost what its index partition costs.

    moto answers a query of a global secondary index by reading every item
    of the table: with 10,000 users, each page of a user listing read some
    60,000 items, where DynamoDB reads the page. Each index now keeps its
    hash key's values → the keys of their items, built at its first query
    and kept by every write (put, update, delete, and a transaction's or a
    batch's, which call them); a query reads its partition's items (moto
    still filters and sorts them, as before). Run before
    `serialize_dynamodb_writes`, so the maps change under the writes' lock.
    """

    def after_write(method, key_of):
        @functools.wraps(method)
        def wrapper(self, table_name, *args, **kwargs):
            try:
                return method(self, table_name, *args, **kwargs)
            finally:
                _written(self, table_name, key_of(args, kwargs))

        return wrapper

    DynamoDBBackend.put_item = after_write(
        DynamoDBBackend.put_item, lambda args, kwargs: args[0] if args else kwargs["item_attrs"]
    )
    for name in ("update_item", "delete_item"):
        setattr(
            DynamoDBBackend,
            name,
            after_write(getattr(DynamoDBBackend, name), lambda args, kwargs: args[0] if args else kwargs["key"]),
        )
    delete_table = DynamoDBBackend.delete_table

    def forget(self, name):
        with DYNAMODB_WRITES:
            for k in [k for k in _INDEX_MAPS if k[0] == name]:
                del _INDEX_MAPS[k]
        return delete_table(self, name)

    DynamoDBBackend.delete_table = forget


def partition_queries() -> None:
    """Makes a query cost what its partition costs.

    moto answers every query by sorting the whole table and filtering it: a
    table of 40,000 items makes each query of one user's three items take
    tens of milliseconds, where DynamoDB reads the partition alone. A
    base-table query now reads its partition; an index query reads its index
    partition (`index_partitions`), or, for an index whose key is more than
    one attribute, the items without sorting them first (it sorts the
    matches).
    """
    original = Table.query
    signature = inspect.signature(original)

    def query(self, hash_key, *args, **kwargs):
        call = signature.bind(self, hash_key, *args, **kwargs).arguments
        index_name = call.get("index_name")
        if not index_name:
            return original(_Partition(self, hash_key), hash_key, *args, **kwargs)
        with DYNAMODB_WRITES:
            m = _index_map(self, index_name)
            value = hash_key
            for attr, v in call.get("hash_key_conditions") or ():
                if m is not None and attr == m.attr:
                    value = v
            items = m.page(value, call) if m is not None and value is not None else None
        if items is None:
            return original(_Unsorted(self), hash_key, *args, **kwargs)
        return original(_IndexPartition(self, items), hash_key, *args, **kwargs)

    Table.query = query


_SCALARS = ("S", "N", "BOOL", "NULL")


def _plain(obj):
    """`dynamo_to_dict(obj)`, with the common cases (strings, numbers,
    booleans, maps, lists; attribute values but binary ones) taken without
    its checks for each value, and every other case left to it."""
    kind = type(obj)
    if kind is DynamoType and obj.type not in ("B", "BS"):
        value = obj.value
        if obj.type in _SCALARS and type(value) in (str, bool):
            return {obj.type: value}
        return {obj.type: _plain(value)}
    if kind is dict or (isinstance(obj, dict) and not hasattr(obj, "to_json")):
        # an item's attributes are a dict of moto's own (LimitedSizeDict)
        return {k: _plain(v) for k, v in obj.items()}
    if kind is list:
        return [_plain(v) for v in obj]
    if kind in (str, int, bool) or obj is None:
        return obj
    return dynamo_to_dict(obj)


class _Unusual(Exception):
    """A value `_wire` leaves to moto's own serializer."""


def _wire(value):
    """An attribute value (`{type: value}`, as moto's handlers give it) as
    DynamoDB's JSON writes it: what moto's serializer makes of it."""
    if not isinstance(value, dict) or len(value) != 1:
        raise _Unusual
    ((kind, v),) = value.items()
    if v is None:
        raise _Unusual
    if kind in _SCALARS:
        return value  # a dictionary of this answer's own (`_plain`)
    if kind in ("SS", "NS"):
        return {kind: list(v)}
    if kind == "M":
        return {"M": {k: _wire(x) for k, x in v.items()}}
    if kind == "L":
        return {"L": [_wire(x) for x in v]}
    if kind == "B":
        return {"B": _base64(v)}
    if kind == "BS":
        return {"BS": [_base64(x) for x in v]}
    raise _Unusual


def _base64(value):
    if isinstance(value, str):
        value = value.encode("utf-8")
    return base64.b64encode(value).strip().decode("utf-8")


def _item(attrs):
    return {name: _wire(v) for name, v in attrs.items()}


def _items(items):
    return [_item(i) for i in items]


def _tables(tables):
    return {name: _items(items) for name, items in tables.items()}


# operation → the members of its answer that hold items, and how each is written
_ITEM_MEMBERS = {
    "Query": (("Items", _items), ("LastEvaluatedKey", _item)),
    "Scan": (("Items", _items), ("LastEvaluatedKey", _item)),
    "GetItem": (("Item", _item),),
    "BatchGetItem": (("Responses", _tables),),
    "PutItem": (("Attributes", _item),),
    "UpdateItem": (("Attributes", _item),),
    "DeleteItem": (("Attributes", _item),),
}


def direct_item_responses() -> None:
    """Makes writing an answer's items cost what JSON costs.

    moto writes every answer through a serializer that walks the AWS model's
    shapes value by value (aliases, pickers, a dictionary per value): three
    quarters of the emulator's CPU while a page of 200 users is listed,
    and most of the rest went to turning the answer into plain values
    (`dynamo_to_dict`, which checks each value for five cases). The
    items of a read's (or a write's returned) answer are now written
    directly, as DynamoDB's JSON has them; the rest of the answer (counts,
    consumed capacity) still goes through moto's serializer, and the members
    keep the model's order, so the body is the same, byte for byte. A value
    of an unknown shape sends the whole answer the old way.
    """
    original = DynamoResult.execute_result

    def __init__(self, result):
        ActionResult.__init__(self, _plain(result))

    def execute_result(self, context):
        members = _ITEM_MEMBERS.get(context.operation_model.name)
        result = self.result
        if members is None or settings.PRETTIFY_RESPONSES or not isinstance(result, dict):
            return original(self, context)
        try:
            direct = {name: write(result[name]) for name, write in members if result.get(name) is not None}
        except (_Unusual, AttributeError, TypeError, ValueError):
            return original(self, context)
        if not direct:
            return original(self, context)
        rest = ActionResult({k: v for k, v in result.items() if k not in direct})
        status, headers, body = ActionResult.execute_result(rest, context)
        written = json.loads(body)
        out = {}
        for name in context.operation_model.output_shape.members:
            if name in direct:
                out[name] = direct[name]
            elif name in written:
                out[name] = written[name]
        return status, headers, json.dumps(out)

    DynamoResult.__init__ = __init__
    DynamoResult.execute_result = execute_result


def cheap_sizes() -> None:
    """Makes an attribute's size cost what measuring it costs.

    moto measures every item a query passes (twice: against the 1 MB page
    limit, then into the page's size) and every attribute a write stores,
    through `DynamoType.size`, which asks each value's type one question
    after another. A string's, a number's and a boolean's size are now
    measured at once, as moto measures them; other types as before.
    """
    original = DynamoType.size

    def size(self):
        kind, value = self.type, self.value
        if kind == "S" and type(value) is str:
            return len(value.encode("utf-8"))
        if kind == "N":
            return len(str(value))
        if kind == "BOOL" and type(value) is bool:
            return 1
        return original(self)

    DynamoType.size = size
