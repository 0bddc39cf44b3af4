"""Power Automate style subscriptions: POST a callback URL for an event, get the event there, DELETE
to stop; with the caller's privileges, checked against what the tables hold (hand-written SQL)."""

from __future__ import annotations

from gateway.events.capture import installed
from tests.conftest import Backend, bearer, make_client
from tests.events.conftest import EventsDb, Receiver

CREDIT = "CustomerCreditLimitChangedBusinessEvent"
PATH = "/data/BusinessEventsSubscriptions"


def test_subscribe_receive_and_unsubscribe(events_db: EventsDb, receiver: Receiver) -> None:
    db = events_db
    with make_client(Backend(db.name, db.url, db.engine)) as client:
        reader = bearer("reader", ("DataReader",))
        assert client.post(PATH, json={"BusinessEventId": CREDIT, "CallbackUrl": receiver.url},
                           headers=reader).status_code == 403
        for bad in ({"BusinessEventId": CREDIT, "CallbackUrl": "ftp://x"}, {"CallbackUrl": receiver.url},
                    {"BusinessEventId": "NoSuchEvent", "CallbackUrl": receiver.url},
                    {"BusinessEventId": CREDIT, "CallbackUrl": receiver.url, "Extra": 1}):
            response = client.post(PATH, json=bad)
            assert response.status_code == 400, (bad, response.text)
            assert response.json()["error"]["message"]
        assert db.sql('SELECT count(*) FROM "BUSINESSEVENTENDPOINT"')[0][0] == 0  # nothing half-made
        response = client.post(PATH, json={"BusinessEventId": CREDIT, "CallbackUrl": receiver.url, "LegalEntity": "USMF"})
        assert response.status_code == 201, response.text
        subscription = response.json()["SubscriptionId"]
        assert response.headers["location"].endswith(f"{PATH}('{subscription}')")
        assert db.sql('SELECT "ENDPOINTTYPE", "URL" FROM "BUSINESSEVENTENDPOINT" WHERE "ENDPOINTID" = :e',
                      e=subscription) == [(2, receiver.url)]
        assert db.sql('SELECT "BUSINESSEVENTID", "LEGALENTITY" FROM "BUSINESSEVENTACTIVATION" WHERE "ENDPOINTID" = :e',
                      e=subscription) == [(CREDIT, "usmf")]
        listed = client.get(PATH, headers=reader).json()["value"]
        assert listed == [{"SubscriptionId": subscription, "BusinessEventId": CREDIT, "CallbackUrl": receiver.url,
                           "LegalEntity": "usmf"}]
        with db.engine.connect() as connection:
            assert installed(connection)  # capturing since the POST committed
        for company, limit in (("usmf", 4321), ("demf", 999)):  # the subscription is for usmf only
            db.run('UPDATE "CUSTTABLE" SET "CREDITMAX" = :l WHERE "RECID" = (SELECT min("RECID") FROM "CUSTTABLE" '
                   'WHERE "DATAAREAID" = :c)', l=limit, c=company)
        db.drain()
        (event,) = receiver.events()
        assert event["Body"]["NewCreditLimit"] == 4321 and event["Body"]["BusinessEventLegalEntity"] == "usmf"
        assert client.delete(f"{PATH}('{subscription}')", headers=reader).status_code == 403
        assert client.delete(f"{PATH}('{subscription}')").status_code == 204
        assert client.delete(f"{PATH}('{subscription}')").status_code == 404
        assert db.sql('SELECT count(*) FROM "BUSINESSEVENTACTIVATION"')[0][0] == 0
        with db.engine.connect() as connection:
            assert installed(connection) == {}  # nothing activated: nothing captured
        client.app.state.engine.dispose()  # type: ignore[attr-defined]


def test_the_admin_view_shows_each_endpoints_backlog(events_db: EventsDb) -> None:
    """/admin/data/BusinessEventsOutbox grouped by endpoint, against a count of the outbox by hand."""
    from tests.events.test_delivery_faults import activate, raise_limits

    db = events_db
    activate(db, "down", "http://127.0.0.1:9/events", CREDIT, "CustomersV3_Updated")  # nothing listens there
    activate(db, "also-down", "http://127.0.0.1:9/other", CREDIT)
    raise_limits(db, 4)
    worker = db.worker()
    try:
        worker.run_once()
    finally:
        worker.release()
    expected = {endpoint: count for endpoint, count in db.sql(
        'SELECT "ENDPOINTID", count(*) FROM "EVENTOUTBOX" WHERE "STATUS" = \'Pending\' GROUP BY "ENDPOINTID"')}
    assert expected == {"down": 8, "also-down": 4}
    with make_client(Backend(db.name, db.url, db.engine)) as client:
        response = client.get("/admin/data/BusinessEventsOutbox", params={
            "$apply": "filter(Status eq 'Pending')/groupby((EndpointId),aggregate($count as Backlog))"})
        assert response.status_code == 200, response.text
        assert {row["EndpointId"]: row["Backlog"] for row in response.json()["value"]} == expected
        failed = client.get("/admin/data/BusinessEventsOutbox", params={"$filter": "EndpointId eq 'down'",
                                                                        "$select": "LastError,Attempts"})
        rows = failed.json()["value"]  # by Sequence: the head of the queue was tried, the rest waits behind it
        assert len(rows) == 8 and "refused" in rows[0]["LastError"] and rows[0]["Attempts"] >= 1
        forbidden = client.get("/admin/data/BusinessEventsOutbox", headers=bearer("reader", ("DataReader",)))
        assert forbidden.status_code == 403
        client.app.state.engine.dispose()  # type: ignore[attr-defined]
