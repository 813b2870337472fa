"""Bulk inserts without the ORM's per-value overhead, for batch services that write thousands of rows.

`QuerySet.bulk_create` sends every value of every row through the field API and compiles a statement per
62 rows on SQLite; measured here it costs about 115 µs per interaction row, where executemany of the same
row costs 14 µs. `insert_rows` converts each column with one function chosen once per field (the same
conversions Django's fields apply), writes multi-row INSERTs, and sets the primary keys from RETURNING, so
the objects are usable afterwards as after `bulk_create`. Like `bulk_create` it calls no `save()` and sends
no signals; it does what `PublicIdModel.save` would (assign the public id) and fills auto_now fields.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import operator
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from django.conf import settings
from django.db import connections, models, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.base import ModelState
from django.db.models.signals import post_init, pre_init
from django.utils import timezone

from cxloop.core.ids import new_public_id
from cxloop.core.models import PublicIdModel

M = TypeVar("M", bound=models.Model)
Converter = Callable[[Any], Any]

# Fields whose Python value is what the driver takes (their get_db_prep_save only checks the type).
_PLAIN = (models.CharField, models.TextField, models.BooleanField, models.IntegerField, models.FloatField)


def _identity(value: Any) -> Any:
    return value


def _converter(field: models.Field[Any, Any], connection: BaseDatabaseWrapper) -> Converter:
    if isinstance(field, models.DateTimeField):
        # Rows of a batch share timestamps (created_at, updated_at); SQLite's conversion is worth remembering.
        adapt = connection.ops.adapt_datetimefield_value
        seen: dict[Any, Any] = {}
        # SQLite stores naive text in the connection's zone; when that is UTC, a UTC value (what clock.now() and
        # storable_utc give) is adapt's str(make_naive(value)) with the zone dropped: astimezone(UTC) is itself.
        naive_utc = connection.vendor == "sqlite" and settings.USE_TZ and connection.timezone is UTC

        def datetime_value(value: Any) -> Any:
            if value not in seen:
                if naive_utc and type(value) is datetime and value.tzinfo is UTC:
                    seen[value] = str(value.replace(tzinfo=None))
                else:
                    seen[value] = adapt(value)
            return seen[value]

        return datetime_value
    if isinstance(field, models.JSONField):
        encoder = field.encoder
        adapt_json = connection.ops.adapt_json_value
        empty: dict[type, Any] = {}  # most rows leave metadata and the like empty: one conversion each

        def json_value(value: Any) -> Any:
            if value is None:
                return None
            if not value and type(value) in (dict, list):
                if type(value) not in empty:
                    empty[type(value)] = adapt_json(type(value)(), encoder)
                return empty[type(value)]
            return adapt_json(value, encoder)

        return json_value
    if isinstance(field, (models.ForeignKey, *_PLAIN)):
        return _identity
    return lambda value: field.get_db_prep_save(value, connection)


def _row_converter(converters: list[Converter]) -> Callable[[Sequence[Any]], list[Any]]:
    """One row's values to database values: only the columns whose conversion does something cost a call."""
    needed = [(index, convert) for index, convert in enumerate(converters) if convert is not _identity]

    def convert_row(values: Sequence[Any]) -> list[Any]:
        row = list(values)
        for index, convert in needed:
            row[index] = convert(row[index])
        return row

    return convert_row


class _Preparer:
    """What save() and bulk_create do before writing: public id, auto_now fields, ids of related objects."""

    def __init__(self, fields: list[models.Field[Any, Any]]) -> None:
        now = timezone.now()  # one time for the whole call, as for one multi-row INSERT
        self.stamps = [
            (f.attname, now) for f in fields if isinstance(f, models.DateTimeField) and (f.auto_now or f.auto_now_add)
        ]
        self.relations = [f for f in fields if isinstance(f, models.ForeignKey)]

    def __call__(self, obj: models.Model) -> None:
        if isinstance(obj, PublicIdModel) and not obj.public_id:
            obj.public_id = new_public_id(obj.PUBLIC_ID_PREFIX)
        for attname, now in self.stamps:
            setattr(obj, attname, now)
        for field in self.relations:
            if getattr(obj, field.attname) is None and field.is_cached(obj):
                related = field.get_cached_value(obj)
                if related is not None:
                    if related.pk is None:
                        raise ValueError(f"{field.name} of {obj!r} is not saved yet.")
                    setattr(obj, field.attname, related.pk)


def _write(
    connection: BaseDatabaseWrapper,
    model: type[models.Model],
    fields: list[models.Field[Any, Any]],
    rows: list[list[Any]],
    *,
    returning: bool,
    keys: list[Any] | None = None,
) -> list[Any]:
    """INSERT `rows` (database values, one list per row) and return the new primary keys if asked.

    PostgreSQL gets COPY, with the keys taken from the table's sequence first when they are wanted (or the
    `keys` reserved from it already): a multi-row INSERT makes psycopg rewrite thousands of placeholders (or
    quote thousands of array items) in Python, which cost more than the insert itself. SQLite, in a
    transaction, gets executemany (see _write_sqlite). Elsewhere, multi-row VALUES lists as large as the
    driver's parameter limit allows, with RETURNING.
    """
    quote = connection.ops.quote_name
    pk = model._meta.pk
    assert pk is not None
    table = quote(model._meta.db_table)
    # Only identifiers from the model's own metadata go into the text; every value is a parameter.
    columns = [quote(str(f.column)) for f in fields]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            taken: list[Any] = []
            if returning:
                taken = keys if keys is not None else _reserve_keys(connection, [(model, len(rows))])[0]
                columns.insert(0, quote(str(pk.column)))
                rows = [[key, *row] for key, row in zip(taken, rows, strict=True)]
            # The driver's own cursor: its errors come out as Django's (an IntegrityError that callers retry on,
            # not psycopg's UniqueViolation), as they do through Django's cursor.
            with (
                connection.wrap_database_errors,
                cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
            return taken
        head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "  # noqa: S608
        placeholder = "(" + ", ".join(["%s"] * len(fields)) + ")"
        if connection.vendor == "sqlite" and connection.in_atomic_block:
            return _write_sqlite(cursor, head + placeholder, rows, returning=returning)
        tail = f" RETURNING {quote(str(pk.column))}" if returning else ""
        size = max(1, connection.ops.bulk_batch_size(fields, rows))
        keys = []  # from RETURNING
        for start in range(0, len(rows), size):
            chunk = rows[start : start + size]
            cursor.execute(head + ", ".join([placeholder] * len(chunk)) + tail, [v for row in chunk for v in row])
            if returning:
                keys.extend(value for (value,) in cursor.fetchall())
    return keys


def _write_sqlite(cursor: Any, sql: str, rows: list[list[Any]], *, returning: bool) -> list[Any]:
    """One prepared single-row INSERT for every row, and the keys as the range the last one ends.

    A multi-row VALUES list of 500 rows is a statement of thousands of placeholders that Django rewrites
    with a regular expression and SQLite parses anew for every chunk; executemany prepares one short
    statement. Inside a transaction this connection holds SQLite's write lock from its first write to the
    commit, so no other connection inserts in between, and SQLite gives each row without a key the next
    one (the largest key + 1; AUTOINCREMENT only adds that a key is never reused): the rows got the
    consecutive keys that end at last_insert_rowid(). Callers outside a transaction get the multi-row
    INSERT with RETURNING, whose rows are committed together.
    """
    cursor.executemany(sql, rows)
    if not returning:
        return []
    cursor.execute("SELECT last_insert_rowid()")
    (last,) = cursor.fetchone()
    return list(range(last - len(rows) + 1, last + 1))


def _reserve_keys(connection: BaseDatabaseWrapper, wanted: list[tuple[type[models.Model], int]]) -> list[list[Any]]:
    """`count` new keys from the sequence of each (model, count), in one round trip (PostgreSQL)."""
    parts = []
    params: list[Any] = []
    for index, (model, count) in enumerate(wanted):
        pk = model._meta.pk
        assert pk is not None
        parts.append("SELECT %s::integer, nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)")
        params += [index, model._meta.db_table, pk.column, count]
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        rows = cursor.fetchall()
    keys: list[list[Any]] = [[] for _ in wanted]
    for index, key in rows:
        keys[index].append(key)
    return [sorted(group) for group in keys]


def insert_rows(objs: Sequence[M]) -> Sequence[M]:
    """Insert `objs` (all of one model with an auto primary key) and set their primary keys."""
    return _insert(objs, keys=None)


def insert_groups(groups: Sequence[Sequence[models.Model]]) -> None:
    """insert_rows on each list in turn, where a list may point at objects of the lists before it.

    On PostgreSQL the keys of all of them come from their sequences in one round trip instead of one per
    list (each is a wait on the server); the rows are then written list by list, in order.
    """
    groups = [objs for objs in groups if objs]
    aliases = {router.db_for_write(type(objs[0])) for objs in groups}
    if len(groups) < 2 or len(aliases) > 1 or connections[aliases.pop()].vendor != "postgresql":
        for objs in groups:
            insert_rows(objs)
        return
    connection = connections[router.db_for_write(type(groups[0][0]))]
    reserved = _reserve_keys(connection, [(type(objs[0]), len(objs)) for objs in groups])
    for objs, keys in zip(groups, reserved, strict=True):
        _insert(objs, keys=keys)


def _insert(objs: Sequence[M], *, keys: list[Any] | None) -> Sequence[M]:
    if not objs:
        return objs
    model = type(objs[0])
    alias = router.db_for_write(model)
    connection = connections[alias]
    if not connection.features.can_return_rows_from_bulk_insert:
        return model._default_manager.bulk_create(objs)  # type: ignore[no-any-return]
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    names = [f.attname for f in fields]
    values_of = operator.attrgetter(*names) if len(names) > 1 else lambda obj: (getattr(obj, names[0]),)
    convert = _row_converter([_converter(f, connection) for f in fields])
    prepare = _Preparer(fields)
    rows = []
    for obj in objs:
        prepare(obj)
        rows.append(convert(values_of(obj)))
    keys = _write(connection, model, fields, rows, returning=True, keys=keys)
    for obj, key in zip(objs, keys, strict=True):
        obj.pk = key
        obj._state.adding = False
        obj._state.db = alias
    return objs


def insert_values(model: type[models.Model], attnames: Sequence[str], rows: Sequence[Sequence[Any]]) -> int:
    """Insert rows given as values (one per name in `attnames`) without making model objects or reading ids back.

    For append-only rows nobody reads back in the same request, such as audit entries: no model instance, no
    RETURNING. Columns left out take their field's default; this is not for models with auto_now fields or
    public ids (use insert_rows).
    """
    if not rows:
        return 0
    connection = connections[router.db_for_write(model)]
    by_name = {f.attname: f for f in model._meta.concrete_fields if not f.primary_key}
    fields = [by_name[name] for name in attnames]
    defaults = [(f, f.get_default()) for f in by_name.values() if f.attname not in set(attnames)]
    fields += [f for f, _ in defaults]
    converters = [_converter(f, connection) for f in fields]
    tail = [convert(value) for (_, value), convert in zip(defaults, converters[len(attnames) :], strict=True)]
    convert_row = _row_converter(converters[: len(attnames)])
    values = [convert_row(row) + tail for row in rows]
    _write(connection, model, fields, values, returning=False)
    return len(rows)


def update_rows(objs: Sequence[models.Model], attnames: Sequence[str]) -> None:
    """Write `attnames` of each saved object, as save(update_fields=attnames) would, with one executemany.

    bulk_update compiles a CASE expression per column over every row, which costs more than the update
    for the few dozen rows a batch changes. An auto_now field among `attnames` is set to now first.
    """
    if not objs:
        return
    model = type(objs[0])
    connection = connections[router.db_for_write(model)]
    by_name = {f.attname: f for f in model._meta.concrete_fields}
    fields = [by_name[name] for name in attnames]
    now = timezone.now()
    for field in fields:
        if isinstance(field, models.DateTimeField) and field.auto_now:
            for obj in objs:
                setattr(obj, field.attname, now)
    converters = [(f.attname, _converter(f, connection)) for f in fields]
    quote = connection.ops.quote_name
    pk = model._meta.pk
    assert pk is not None
    assignments = ", ".join(f"{quote(str(f.column))} = %s" for f in fields)
    sql = f"UPDATE {quote(model._meta.db_table)} SET {assignments} WHERE {quote(str(pk.column))} = %s"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.executemany(sql, [[convert(getattr(o, name)) for name, convert in converters] + [o.pk] for o in objs])


def update_values(model: type[models.Model], pks: Sequence[Any], **values: Any) -> None:
    """Set the same `values` on the rows with these primary keys (QuerySet.update, without an IN list of
    thousands of placeholders on PostgreSQL, where one array parameter does)."""
    if not pks:
        return
    connection = connections[router.db_for_write(model)]
    by_name = {f.attname: f for f in model._meta.concrete_fields}
    fields = [by_name[name] for name in values]
    quote = connection.ops.quote_name
    pk = model._meta.pk
    assert pk is not None
    assignments = ", ".join(f"{quote(str(f.column))} = %s" for f in fields)
    params = [_converter(f, connection)(value) for f, value in zip(fields, values.values(), strict=True)]
    head = f"UPDATE {quote(model._meta.db_table)} SET {assignments} WHERE {quote(str(pk.column))}"  # noqa: S608
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"{head} = ANY(%s)", [*params, list(pks)])
            return
        for start in range(0, len(pks), 500):
            chunk = list(pks[start : start + 500])
            cursor.execute(f"{head} IN ({', '.join(['%s'] * len(chunk))})", [*params, *chunk])


def stamp_values(
    model: type[models.Model], pks: Sequence[Any], attname: str, when: datetime, *, since: datetime
) -> int:
    """Set the timestamp `attname` to `when` on the rows with these keys whose stamp is empty or older than `since`.

    For "last seen" stamps written on every contact: a row stamped since `since` keeps its stamp, so a burst of
    contacts rewrites it once, not once per batch. Leaving the row alone is what makes it cheap: on SQLite each
    row written dirties its page, and the commit copies every dirty page to the WAL; on PostgreSQL each is a
    new row version. Returns how many rows were written.
    """
    if not pks:
        return 0
    connection = connections[router.db_for_write(model)]
    field = model._meta.get_field(attname)
    assert isinstance(field, models.DateTimeField), f"{attname} is not a timestamp"
    convert = _converter(field, connection)
    quote = connection.ops.quote_name
    pk = model._meta.pk
    assert pk is not None
    column = quote(str(field.column))
    head = f"UPDATE {quote(model._meta.db_table)} SET {column} = %s WHERE ({column} IS NULL OR {column} < %s) AND"  # noqa: S608
    key = quote(str(pk.column))
    stamped = 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"{head} {key} = ANY(%s)", [convert(when), convert(since), list(pks)])
            return int(cursor.rowcount)
        for start in range(0, len(pks), 500):
            chunk = list(pks[start : start + 500])
            cursor.execute(f"{head} {key} IN ({_placeholders(len(chunk))})", [convert(when), convert(since), *chunk])
            stamped += cursor.rowcount
    return stamped


# --- reads without the ORM's compiler ------------------------------------------------------------------
# Batch services read rows by lists of up to 500 keys. Building such a filter through the ORM (a lookup object
# and a prepared value per item, then the SQL compiled from them) cost as much as running the query.
@functools.lru_cache(maxsize=64)
def _placeholders(count: int) -> str:
    return ", ".join(["%s"] * count)


def _where(
    connection: BaseDatabaseWrapper, model: type[models.Model], conditions: dict[str, Any], *, qualified: bool = False
) -> tuple[str, list[Any]]:
    """The WHERE clause and parameters for select_values' conditions (the caller handles empty lists); with
    `qualified`, the columns are named with their table (for a join)."""
    prefix = f"{connection.ops.quote_name(model._meta.db_table)}." if qualified else ""
    by_name = {f.attname: f for f in model._meta.concrete_fields}
    clauses: list[str] = []
    params: list[Any] = []
    for key, value in conditions.items():
        name, _, lookup = key.partition("__")
        field = by_name.get(name)
        if field is None or lookup not in ("", "in") or not isinstance(field, (models.ForeignKey, *_PLAIN)):
            raise TypeError(f"select_values does not take {key!r}")
        column = prefix + connection.ops.quote_name(str(field.column))
        if not lookup:
            if value is None:
                raise TypeError(f"{key!r}: = NULL matches nothing; select_values does not take None")
            clauses.append(f"{column} = %s")
            params.append(value)
        elif isinstance(value, str) or not isinstance(value, (list, tuple, set, frozenset)):
            raise TypeError(f"{key!r} takes a list, tuple or set of values")
        elif connection.vendor == "postgresql":
            clauses.append(f"{column} = ANY(%s)")  # one array parameter, not a placeholder per value
            params.append(list(value))
        else:
            clauses.append(f"{column} IN ({_placeholders(len(value))})")
            params += value
    return " AND ".join(clauses), params


def select_values(
    model: type[models.Model], attnames: Sequence[str], *, order_by_pk: bool = False, **conditions: Any
) -> list[tuple[Any, ...]]:
    """`model.objects.filter(**conditions).values_list(*attnames)` for plain conditions, without the ORM's compiler.

    A condition is `attname=value` (equality) or `attname__in=values` (a list, tuple or set: membership), on
    plain or foreign-key columns; all of them must hold. The values come back converted as values_list
    converts them (booleans and timestamps on SQLite, JSON), in primary-key order if asked.
    """
    if any(key.endswith("__in") and not isinstance(value, str) and not value for key, value in conditions.items()):
        return []
    connection = connections[router.db_for_read(model)]
    quote = connection.ops.quote_name
    by_name = {f.attname: f for f in model._meta.concrete_fields}
    fields = [by_name[name] for name in attnames]
    table = model._meta.db_table
    where, params = _where(connection, model, conditions)
    # Only identifiers from the model's own metadata go into the text; every value is a parameter.
    sql = f"SELECT {', '.join(quote(str(f.column)) for f in fields)} FROM {quote(table)}"  # noqa: S608
    if where:
        sql += f" WHERE {where}"
    if order_by_pk:
        pk = model._meta.pk
        assert pk is not None
        sql += f" ORDER BY {quote(str(pk.column))}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return _converted(connection, [(table, field) for field in fields], rows)


def _converted(
    connection: BaseDatabaseWrapper, columns: list[tuple[str, models.Field[Any, Any]]], rows: list[Any]
) -> list[tuple[Any, ...]]:
    """Rows of `columns` (table, field) as values_list converts them (booleans and timestamps on SQLite, JSON)."""
    converting = []
    for index, (table, field) in enumerate(columns):
        col = field.get_col(table)
        converters = connection.ops.get_db_converters(col) + field.get_db_converters(connection)
        if converters:
            converting.append((index, col, converters))
    if not converting:
        return [tuple(row) for row in rows]
    converted = []
    for row in rows:
        values = list(row)
        for index, col, converters in converting:
            for convert in converters:
                values[index] = convert(values[index], col, connection)
        converted.append(tuple(values))
    return converted


def select_with_related(
    model: type[models.Model],
    attnames: Sequence[str],
    relation: str,
    related_attnames: Sequence[str],
    **conditions: Any,
) -> list[tuple[tuple[Any, ...], tuple[Any, ...]]]:
    """select_values of `model`, each row with `related_attnames` of the row its foreign key `relation` points at.

    One query (an inner join) instead of select_values and then a second read of the related rows by an IN list
    of their keys: `(values, related values)` per row, both converted as values_list converts them. Rows whose
    foreign key is NULL are left out, as the join leaves them. The conditions are select_values', on `model`.
    """
    if any(key.endswith("__in") and not isinstance(value, str) and not value for key, value in conditions.items()):
        return []
    connection = connections[router.db_for_read(model)]
    quote = connection.ops.quote_name
    by_name = {f.attname: f for f in model._meta.concrete_fields}
    foreign = model._meta.get_field(relation)
    if not isinstance(foreign, models.ForeignKey):
        raise TypeError(f"{relation!r} is not a foreign key of {model.__name__}")
    related = foreign.related_model
    assert isinstance(related, type)
    related_by_name = {f.attname: f for f in related._meta.concrete_fields}
    table, related_table = model._meta.db_table, related._meta.db_table
    columns = [(table, by_name[name]) for name in attnames]
    columns += [(related_table, related_by_name[name]) for name in related_attnames]
    where, params = _where(connection, model, conditions, qualified=True)
    target = foreign.target_field
    # Only identifiers from the models' own metadata go into the text; every value is a parameter.
    sql = (
        f"SELECT {', '.join(f'{quote(t)}.{quote(str(f.column))}' for t, f in columns)} FROM {quote(table)}"  # noqa: S608
        f" INNER JOIN {quote(related_table)} ON {quote(related_table)}.{quote(str(target.column))}"
        f" = {quote(table)}.{quote(str(foreign.column))}"
    )
    if where:
        sql += f" WHERE {where}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    split = len(attnames)
    return [(row[:split], row[split:]) for row in _converted(connection, columns, rows)]


def load_objects(model: type[M], attnames: Sequence[str], *, order_by_pk: bool = False, **conditions: Any) -> list[M]:
    """`model.objects.filter(**conditions).only(*attnames)` for select_values' conditions: see loaded_objects."""
    rows = select_values(model, attnames, order_by_pk=order_by_pk, **conditions)
    return loaded_objects(model, attnames, rows, using=router.db_for_read(model))


# --- model objects without Model.__init__ ------------------------------------------------------------
# Model.__init__ goes through every field's descriptor and the init signals: 5 to 10 µs per object, more than
# writing the row. Batch services make thousands of objects they hand back to their callers; these build
# the same objects by filling the instance's __dict__, as __init__ leaves it.
_IMMUTABLE_DEFAULTS = (str, int, float, bool, type(None))


class _Plan:
    """What Model.__init__ would do for `model`, worked out once: field names, constant defaults, factories."""

    def __init__(self, model: type[models.Model]) -> None:
        self.fields = {f.name: f for f in model._meta.concrete_fields}
        # Keyword -> (attname, whether it names a related object): a foreign key by name or by attname.
        self.keywords = {f.attname: (f.attname, False) for f in self.fields.values()}
        self.keywords.update({f.name: (f.attname, f.is_relation) for f in self.fields.values()})
        self.constants: dict[str, Any] = {}
        self.factories: list[tuple[str, Callable[[], Any]]] = []
        for field in self.fields.values():
            if field.has_default() and callable(field.default):
                self.factories.append((field.attname, field.default))
            elif isinstance(value := field.get_default(), _IMMUTABLE_DEFAULTS):
                self.constants[field.attname] = value
            else:
                self.factories.append((field.attname, field.get_default))
        self.plain = (
            all(f.db_default is models.NOT_PROVIDED for f in self.fields.values())
            and not pre_init.has_listeners(model)
            and not post_init.has_listeners(model)
        )


@functools.cache
def _plan(model: type[models.Model]) -> _Plan:
    return _Plan(model)


def new_object(model: type[M], **values: Any) -> M:
    """`model(**values)` for field names: an unsaved object with every other field at its default.

    A related object given for a foreign key is cached on the new object and its key copied, as the
    descriptor does (insert_rows copies the key again if the related object is saved in between). Models
    with init signal receivers or database defaults go through __init__.
    """
    plan = _plan(model)
    if not plan.plain:
        return model(**values)
    obj = model.__new__(model)
    state = obj._state = ModelState()
    data = obj.__dict__
    data.update(plan.constants)
    for attname, factory in plan.factories:
        data[attname] = factory()
    for name, value in values.items():
        if name not in plan.keywords:
            raise TypeError(f"{model.__name__}() got an unexpected field {name!r}")
        attname, related = plan.keywords[name]
        if related:
            state.fields_cache[name] = value
            if value is None:
                data[attname] = None
                continue
            data[attname] = value.pk
            if state.db is None:  # as the descriptor: the object goes where its related object is
                state.db = router.db_for_write(model, instance=value)
            if value._state.db is None:
                value._state.db = router.db_for_write(type(value), instance=obj)
        else:
            data[attname] = value
    return obj


def loaded_objects(model: type[M], attnames: Sequence[str], rows: Iterable[Sequence[Any]], *, using: str) -> list[M]:
    """Saved objects from rows of `values_list(*attnames)`, as `only(*attnames)` would give them.

    The fields left out are deferred: Django reads one from the database if it is ever accessed.
    """
    if not _plan(model).plain:
        return [model.from_db(using, list(attnames), row) for row in rows]
    objs = []
    for row in rows:
        obj = model.__new__(model)
        state = obj._state = ModelState()
        state.adding, state.db = False, using
        obj.__dict__.update(zip(attnames, row, strict=True))
        objs.append(obj)
    return objs


# --- the cyclic garbage collector during a batch -----------------------------------------------------------
class _Pause:
    """How many batches run now (in any thread), and whether the first of them turned the collector off."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.depth = 0
        self.turned_off = False


_pause = _Pause()


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Run the block with Python's cyclic garbage collector off; it is on again once no such block runs.

    A batch makes tens of thousands of objects that live until it ends. They outlive the collector's young
    generations and are promoted to the oldest, whose growth starts full collections: each one traverses
    every object of the process (40-120 ms here), and they took a fifth of batch ingest's time. The batch's
    objects do not need the collector: they hold no reference cycles and are freed by reference counting
    (a test pins it), so with the collector off for the batch they are never traversed at all. Garbage with
    cycles made meanwhile, by anything in the process, waits for the first collection after the last
    block ends. A collector that was already off (turned off by the application) stays off.
    """
    with _pause.lock:
        if _pause.depth == 0:
            _pause.turned_off = gc.isenabled()
            gc.disable()
        _pause.depth += 1
    try:
        yield
    finally:
        with _pause.lock:
            _pause.depth -= 1
            if _pause.depth == 0 and _pause.turned_off:
                gc.enable()
