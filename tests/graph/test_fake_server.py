"""The fake Industry Data server itself: both documented spellings accepted, anything else refused."""

from __future__ import annotations

import requests

from tests.fakegraph.server import ROOT, FakeIndustryData

NS = "microsoft.graph.industryData"


def test_both_documented_spellings_are_accepted(fake_graph: FakeIndustryData) -> None:
    ids = fake_graph.connector_setup()
    base = f"{fake_graph.endpoint}{ROOT}"
    c = ids["connectorId"]
    assert requests.get(f"{base}/dataConnectors('{c}')", timeout=5).status_code == 200
    assert (
        requests.get(f"{base}/sourceSystems('{ids['sourceSystemId']}')", timeout=5).status_code
        == 200
    )
    for name in ("getUploadSession", "GetUploadSession"):
        answer = requests.get(
            f"{base}/dataConnectors/{c}/{NS}.azureDataLakeConnector/{name}",
            params={"resetSession": "true"},
            timeout=5,
        )
        assert answer.status_code == 200 and answer.json()["sessionUrl"]
    for path in (f"dataConnectors/{c}/validate", f"dataConnectors/{c}/{NS}.validate"):
        assert requests.post(f"{base}/{path}", timeout=5).status_code == 202
    for path in ("runs/start", f"runs/{NS}.start"):
        assert requests.post(f"{base}/{path}", timeout=5).status_code == 202
    run = next(iter(fake_graph.runs))
    for path in (f"runs/{run}/getStatistics", f"runs/{run}/{NS}.getStatistics()"):
        assert requests.get(f"{base}/{path}", timeout=5).status_code == 200
    assert fake_graph.violations == []


def test_undocumented_requests_are_refused_and_recorded(fake_graph: FakeIndustryData) -> None:
    ids = fake_graph.connector_setup()
    base = f"{fake_graph.endpoint}{ROOT}"
    c = ids["connectorId"]
    answers = [
        requests.post(
            f"{base}/runs/start", json={"flow": "x"}, timeout=5
        ),  # a body where none is sent
        requests.get(
            f"{base}/dataConnectors/{c}/getUploadSession", timeout=5
        ),  # no type cast segment
        requests.get(
            f"{base}/dataConnectors/{c}/{NS}.azureDataLakeConnector/getUploadSession",
            params={"resetSession": "yes"},
            timeout=5,
        ),
        requests.post(
            f"{base}/inboundFlows",
            json={
                "@odata.type": f"#{NS}.inboundFileFlow",
                "displayName": "f",
                "dataDomain": "educationRostering",
                "dataConnector@odata.bind": f"{fake_graph.endpoint}{ROOT}/dataConnectors/nope",
                "year@odata.bind": f"{fake_graph.endpoint}{ROOT}/years/{ids['yearId']}",
                "effectiveDateTime": "2026-09-01T00:00:00Z",
            },
            timeout=5,
        ),
        requests.post(
            f"{base}/years",
            json={
                "displayName": "y",
                "startDate": "2026-09-01",
                "endDate": "2026-02-30",
                "year": {"code": "2026"},
            },
            timeout=5,
        ),
        requests.post(f"{fake_graph.endpoint}/beta/industryData/runs/start", timeout=5),
    ]
    assert [a.status_code for a in answers] == [400] * 6
    assert fake_graph.violations == [
        f"POST {ROOT}/runs/start: this call takes no body",
        f"GET {ROOT}/dataConnectors/{c}/getUploadSession: no documented call has this method and path",
        f"GET {ROOT}/dataConnectors/{c}/{NS}.azureDataLakeConnector/getUploadSession: resetSession must be true or false",
        f"POST {ROOT}/inboundFlows: dataConnector@odata.bind: not the URL of an existing dataConnectors object: "
        f"'{fake_graph.endpoint}{ROOT}/dataConnectors/nope'",
        f"POST {ROOT}/years: endDate: not a calendar date",
        "POST /beta/industryData/runs/start: not under /beta/external/industryData",
    ]
