"""The local stack's emulator answers a DynamoDB query in the time its
partition takes, as DynamoDB does, not in the time the whole table takes:
moto reads (and sorts) every item of a table for each query. Used by
`moto_server.py`, which applies `partition_queries` and `index_partitions`
before it serves.
"""

import bisect
import functools
import inspect
import threading

from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table


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
