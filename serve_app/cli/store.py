"""`medinv` commands for the inventory database: migrations, retention and API keys."""

import argparse
import asyncio
import sys
from datetime import UTC, datetime

from sqlalchemy.engine import make_url

from serve_app.access import key_store
from serve_app.access.keys import Scope, parse_scopes
from serve_app.core.errors import NotFoundError
from serve_app.core.settings import get_settings
from serve_app.inventory import migrate
from serve_app.inventory.database import Database, create_engine
from serve_app.inventory.models import ApiKey
from serve_app.inventory.retention import cleanup


def _database_url(args: argparse.Namespace) -> str:
    url: str = args.database_url or get_settings().resolved_database_url
    return url


def _migrate(args: argparse.Namespace) -> int:
    url = _database_url(args)
    if args.downgrade:
        migrate.downgrade(url, args.downgrade)
    else:
        migrate.upgrade(url)
    print(f"migrated {_redacted(url)} to {args.downgrade or 'head'}")
    return 0


def _cleanup(args: argparse.Namespace) -> int:
    if args.older_than_days < 1:
        print("--older-than-days must be at least 1", file=sys.stderr)
        return 2

    async def run() -> str:
        database = Database(create_engine(_database_url(args), get_settings()))
        try:
            async with database.session() as session:
                report = await cleanup(
                    session, older_than_days=args.older_than_days, now=datetime.now(UTC)
                )
        finally:
            await database.dispose()
        return (
            f"deleted {report.records_deleted} detection records before "
            f"{report.cutoff.isoformat()}; wrote {report.aggregates_written} daily aggregates"
        )

    print(asyncio.run(run()))
    return 0


def _keys(args: argparse.Namespace) -> int:
    """`keys create` prints the key once (only its hash is stored); `list`; `revoke`."""

    async def run() -> int:
        database = Database(create_engine(_database_url(args), get_settings()))
        try:
            async with database.session() as session:
                if args.keys_command == "create":
                    new = await key_store.create_key(
                        session,
                        name=args.name,
                        scopes=args.scopes,
                        requests_per_minute=args.requests_per_minute,
                        frames_per_minute=args.frames_per_minute,
                    )
                    print(f"created API key {new.key_id} ({args.name}); shown only now:")
                    print(new.secret)
                elif args.keys_command == "list":
                    for key in await key_store.list_keys(session):
                        print(_key_line(key))
                else:
                    try:
                        await key_store.revoke_key(session, key_id=args.key_id)
                    except NotFoundError as error:
                        print(error.message, file=sys.stderr)
                        return 1
                    print(f"revoked {args.key_id}; replicas stop accepting it within seconds")
        finally:
            await database.dispose()
        return 0

    return asyncio.run(run())


def _key_line(key: ApiKey) -> str:
    revoked = f"  revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else ""
    return (
        f"{key.key_id}  {key.name:<24} {key.scopes:<20} created {key.created_at:%Y-%m-%d %H:%M}"
        + revoked
    )


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _scopes(text: str) -> frozenset[Scope]:
    try:
        return parse_scopes(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _redacted(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    database_options = argparse.ArgumentParser(add_help=False)
    database_options.add_argument(
        "--database-url",
        default=None,
        help="default: $MEDINV_DATABASE_URL, else SQLite in $MEDINV_DATA_DIR (.data/)",
    )

    migrate_command = commands.add_parser(
        "migrate",
        parents=[database_options],
        help="bring the inventory database schema up to date (Alembic)",
    )
    migrate_command.add_argument(
        "--downgrade", metavar="REVISION", help="go down to REVISION instead ('base': empty)"
    )
    migrate_command.set_defaults(handler=_migrate)

    cleanup_command = commands.add_parser(
        "cleanup",
        parents=[database_options],
        help="delete raw detection records older than N days, keeping daily aggregates",
    )
    cleanup_command.add_argument("--older-than-days", type=int, required=True)
    cleanup_command.set_defaults(handler=_cleanup)

    keys = commands.add_parser("keys", help="create, list and revoke API keys")
    keys_commands = keys.add_subparsers(dest="keys_command", required=True)
    create_key = keys_commands.add_parser(
        "create", parents=[database_options], help="a new key; its secret is printed once"
    )
    create_key.add_argument("--name", required=True, help="who or what uses it")
    create_key.add_argument(
        "--scopes", type=_scopes, required=True, help="comma-separated: detect, read, admin"
    )
    create_key.add_argument(
        "--requests-per-minute", type=_positive, help="this key's REST budget (default: global)"
    )
    create_key.add_argument(
        "--frames-per-minute", type=_positive, help="this key's stream-frame budget"
    )
    keys_commands.add_parser("list", parents=[database_options], help="every key, no secrets")
    revoke = keys_commands.add_parser("revoke", parents=[database_options], help="revoke a key")
    revoke.add_argument("key_id", help="the id `keys list` shows")
    keys.set_defaults(handler=_keys)
