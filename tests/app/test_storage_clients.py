"""Table clients are safe to use from many threads: each is built once, on a pipeline of its own."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sds_app.storage.account import StorageAccount, StorageConfig
from tests.azurite import Azurite


def _policies(client: object) -> list[object]:
    pipeline = client._client._client._pipeline  # type: ignore[attr-defined]
    return [p for p in pipeline._impl_policies]


def test_table_clients_share_no_policy_object_to_relink(azurite: Azurite) -> None:
    account = StorageAccount(StorageConfig(azurite.connection_string))
    first, second = account.table("alpha"), account.table("beta")
    assert account.table("alpha") is first
    shared = {id(p) for p in _policies(first)} & {id(p) for p in _policies(second)}
    service = {id(p) for p in _policies(account.tables)}
    assert (shared, shared | ({id(p) for p in _policies(first)} & service)) == (set(), set())


def test_many_threads_making_and_using_table_clients(azurite: Azurite) -> None:
    account = StorageAccount(StorageConfig(azurite.connection_string))
    names = [f"race{i}" for i in range(24)]
    for name in names:
        account.tables.create_table_if_not_exists(name)

    def use(name: str) -> int:
        return sum(1 for _ in account.table(name).query_entities("PartitionKey eq 'x'"))

    with ThreadPoolExecutor(12) as pool:
        assert list(pool.map(use, names * 4)) == [0] * len(names) * 4
