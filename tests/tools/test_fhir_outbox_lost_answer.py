"""A transaction whose answer is lost is not taken for a failure (issue 17: the FHIR write's
lost-response duplicate): the outbox asks the server whether the decision was recorded before it
concludes anything; every create is conditional on the decision id; a status already set writes
no new version. The FHIR server is the outbox suite's real-HTTP fake (``FakeFhirWrites``),
reached through a transport that loses answers the way a network does: after the server acted."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.tools.test_fhir_outbox import ACTIVE, BASE, DRAFT, PAUSING, FakeFhirWrites, approved
from tools.fhir.outbox import FhirOutbox, FhirWriteFailed, FhirWriteUnknown


class LossyNetwork(httpx.AsyncBaseTransport):
    """Loopback to the fake FHIR server; the transaction's answer can be lost after the server
    took it (``lose_answer``) or before it arrived (``lose_request``), a gateway can answer 504
    for it (``gateway_504``), and every request after the transaction can fail (``then_down``)."""

    def __init__(self, fake: FakeFhirWrites) -> None:
        self.inner = httpx.ASGITransport(app=fake.app())
        self.lose_answer = self.lose_request = self.gateway_504 = self.then_down = False
        self.posted = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.posted and self.then_down:
            raise httpx.ConnectError("connection refused", request=request)
        if request.method != "POST":
            return await self.inner.handle_async_request(request)
        self.posted = True
        if self.lose_request:
            raise httpx.RemoteProtocolError("connection reset", request=request)
        response = await self.inner.handle_async_request(request)
        await response.aread()  # the server has acted on it
        if self.lose_answer:
            raise httpx.ReadTimeout("no answer", request=request)
        if self.gateway_504:
            return httpx.Response(504, json={"resourceType": "OperationOutcome", "issue": []})
        return response


@pytest.fixture
async def lossy() -> AsyncIterator[tuple[FakeFhirWrites, LossyNetwork, FhirOutbox]]:
    fake = FakeFhirWrites.over(PAUSING, "aki-on-ckd")
    network = LossyNetwork(fake)
    async with httpx.AsyncClient(transport=network) as http:
        yield fake, network, FhirOutbox(BASE, http)


@pytest.mark.parametrize("how", ["lose_answer", "gateway_504"])
async def test_a_lost_answer_to_a_taken_write_is_recognised_not_repeated(
    lossy: tuple[FakeFhirWrites, LossyNetwork, FhirOutbox], how: str
) -> None:
    fake, network, outbox = lossy
    setattr(network, how, True)
    items = [approved("activate_order", DRAFT), approved("adjust_dose", ACTIVE, dose="10 mg")]
    receipts = await outbox.write(items)
    # found by its decision ids: the locations of what the server recorded, nothing sent again
    assert receipts == [[DRAFT, "Provenance/new-1"], ["Task/new-2", "Provenance/new-3"]]
    assert len(fake.transactions) == 1
    assert fake.resources[DRAFT]["meta"]["versionId"] == "4"
    assert [r["resourceType"] for r in fake.created] == ["Provenance", "Task", "Provenance"]
    setattr(network, how, False)
    assert await outbox.write(items) == receipts  # replayed later: still nothing new
    assert len(fake.transactions) == 1


async def test_a_write_lost_before_the_server_took_it_is_a_plain_failure(
    lossy: tuple[FakeFhirWrites, LossyNetwork, FhirOutbox],
) -> None:
    fake, network, outbox = lossy
    network.lose_request = True
    with pytest.raises(FhirWriteFailed, match="not recorded: RemoteProtocolError") as failed:
        await outbox.write([approved("hold_medication", ACTIVE)])
    assert not isinstance(failed.value, FhirWriteUnknown)
    assert fake.transactions == []
    assert fake.resources[ACTIVE]["status"] == "active"


async def test_an_answer_lost_with_the_server_gone_is_an_unknown_outcome(
    lossy: tuple[FakeFhirWrites, LossyNetwork, FhirOutbox],
) -> None:
    """Nobody can tell whether it was recorded: said so (504), with what to do, not guessed."""
    fake, network, outbox = lossy
    network.lose_answer = network.then_down = True
    with pytest.raises(FhirWriteUnknown, match="check the patient's record") as unknown:
        await outbox.write([approved("hold_medication", ACTIVE)])
    assert unknown.value.http_status == 504
    assert len(fake.transactions) == 1


async def test_every_create_is_conditional_on_the_decision_id(
    lossy: tuple[FakeFhirWrites, LossyNetwork, FhirOutbox],
) -> None:
    fake, _, outbox = lossy
    items = [approved("hold_medication", ACTIVE), approved("adjust_dose", DRAFT, dose="x")]
    await outbox.write(items)
    [bundle] = fake.transactions
    creates = {
        e["resource"]["resourceType"] + ":" + e["request"]["ifNoneExist"]
        for e in bundle["entry"]
        if e["request"]["method"] == "POST"
    }
    hold, adjust = (i["decision_id"] for i in items)
    assert creates == {
        f"Provenance:entity:identifier=urn:wardround:decision|{hold}",
        f"Provenance:entity:identifier=urn:wardround:decision|{adjust}",
        f"Task:identifier=urn:wardround:decision|{adjust}",
    }


async def test_a_status_already_set_writes_no_new_version(
    lossy: tuple[FakeFhirWrites, LossyNetwork, FhirOutbox],
) -> None:
    """An order already on hold (another route, or a write of ours whose answer was lost and
    whose decision was taken again): the new decision is recorded, the order is not rewritten."""
    fake, _, outbox = lossy
    fake.resources[ACTIVE]["status"] = "on-hold"
    receipts = await outbox.write([approved("hold_medication", ACTIVE)])
    assert receipts == [["Provenance/new-1/_history/1"]]
    [bundle] = fake.transactions
    assert [e["request"]["method"] for e in bundle["entry"]] == ["POST"]
    assert fake.resources[ACTIVE]["meta"]["versionId"] == "3"
