from tests.factories import complaint_payload, login


def test_officer_registers_and_handler_decides(client, world, container, sms):
    login(client, "qz_officer")
    r = client.post("/api/v1/complaints", json=complaint_payload(), headers={"Idempotency-Key": "k1"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "received"
    assert "elderly" in body["special_groups"]
    assert body["phone"] == "139****1234"
    cid = body["id"]
    r2 = client.post("/api/v1/complaints", json=complaint_payload(), headers={"Idempotency-Key": "k1"})
    assert r2.status_code == 201 and r2.json()["id"] == cid
    assert r2.headers["Idempotent-Replayed"] == "true"
    handler = world.users["qz_handler"]
    r = client.post(
        f"/api/v1/complaints/{cid}/actions/accept",
        json={"version": body["version"], "handler_id": handler.id},
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "accepted"
    assert any("已登记" in m.text for m in sms.sent)
