#!/usr/bin/python3
"""check_stores.py - looks at what the mongo plugin wrote, from outside,
with an independent client (python3-pymongo), and compares it with the
regional stores: the documents are where doc/mongo.md says, shaped as it
says, one per order and one per product, nothing lost, nothing twice.

Usage:
  check_stores.py documents URI DB (--sqlite DIR | --mongo PREFIX REGION...)
      the documents store DB against the regions' orders and products, read
      from the SQLite files in DIR (every NAME.db with an orders table but
      central and documents) or from the MongoDB regional stores PREFIX+REGION
  check_stores.py leftover URI PREFIX REGION...
      what a crash left between two steps in the MongoDB regional stores:
      claims, holds, intents; exits 3 when there is nothing
  check_stores.py regional URI PREFIX REGION...
      the MongoDB regional stores: nothing left between two steps (no
      claim, hold or committed intent), one outbox event per order with its
      content, and the books balance per sku
Prints what it checked; exits 1 on the first difference.
"""
import glob
import os
import sqlite3
import sys
import warnings

warnings.simplefilter("ignore")

import pymongo  # noqa: E402


def die(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def sqlite_truth(directory):
    """Orders by id and products by sku, from the SQLite regional stores."""
    orders, products = {}, {}
    for path in sorted(glob.glob(os.path.join(directory, "*.db"))):
        name = os.path.basename(path)[:-3]
        if name in ("central", "documents"):
            continue
        db = sqlite3.connect(path)
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "orders" not in tables:
            continue
        for row in db.execute("SELECT id, region, customer, sku, quantity, unit_price_cents,"
                              " placed_at_us FROM orders"):
            if row[0] in orders:
                die("order %s is in two regions" % row[0])
            orders[row[0]] = dict(zip(("id", "region", "customer", "sku", "quantity",
                                       "unit_price_cents", "placed_at_us"), row))
        for sku, pname, price, version in db.execute(
                "SELECT sku, name, price_cents, version FROM products"):
            comps = [{"sku": c, "quantity": q} for c, q in db.execute(
                "SELECT component_sku, quantity FROM product_components WHERE sku = ?"
                " ORDER BY pos", (sku,))]
            products[sku] = {"sku": sku, "name": pname, "price_cents": price,
                             "version": version, "components": comps}
        db.close()
    return orders, products


def mongo_truth(client, prefix, regions):
    orders, products = {}, {}
    for r in regions:
        db = client[prefix + r]
        for d in db.orders.find({"t": {"$exists": False}}):
            orders[d["_id"]] = {"id": d["_id"], "region": d["region"],
                                "customer": d["customer"], "sku": d["sku"],
                                "quantity": d["quantity"],
                                "unit_price_cents": d["unit_price_cents"],
                                "placed_at_us": d["placed_at_us"]}
        for d in db.products.find():
            products[d["_id"]] = {"sku": d["_id"], "name": d["name"],
                                  "price_cents": d["price_cents"], "version": d["version"],
                                  "components": [{"sku": c["sku"], "quantity": c["quantity"]}
                                                 for c in d["components"]]}
    return orders, products


def check_documents(client, dbname, orders, products):
    db = client[dbname]
    colls = set(db.list_collection_names())
    if colls != {"order_product", "product_component"}:
        die("%s holds the collections %s, want order_product and product_component"
            % (dbname, sorted(colls)))
    idx = db.order_product.index_information()
    if not any(v.get("unique") and [k for k, _ in v["key"]] == ["log_id"] for v in idx.values()):
        die("order_product has no unique index on log_id: %s" % idx)

    logs = list(db.order_product.find())
    seen = set()
    for d in logs:
        oid = d["_id"]
        if not isinstance(oid, str):
            die("an order_product _id is a %s, not a string: %r" % (type(oid).__name__, oid))
        if oid in seen:
            die("order %s has two documents" % oid)
        seen.add(oid)
        o = orders.get(oid)
        if o is None:
            die("order_product has %s, which no region accepted" % oid)
        want = {"_id": oid, "order_id": oid, "log_id": "log:" + oid, "customer": o["customer"],
                "product": o["sku"], "quantity": o["quantity"],
                "unit_price_cents": o["unit_price_cents"], "region": o["region"],
                "placed_at_us": o["placed_at_us"]}
        got = {k: d.get(k) for k in want}
        if got != want:
            die("order_product %s is %s, want %s" % (oid, got, want))
        extra = set(d) - set(want) - {"logged_at_us"}
        if extra:
            die("order_product %s has unexpected fields %s" % (oid, sorted(extra)))
        if not isinstance(d.get("logged_at_us"), int) or d["logged_at_us"] < o["placed_at_us"]:
            die("order_product %s: logged_at_us %r is not a time after the order"
                % (oid, d.get("logged_at_us")))
        for k in ("quantity", "unit_price_cents", "placed_at_us"):
            if not isinstance(d[k], int):
                die("order_product %s: %s is a %s" % (oid, k, type(d[k]).__name__))
    missing = set(orders) - seen
    if missing:
        die("%d accepted orders have no order_product document, e.g. %s"
            % (len(missing), sorted(missing)[:3]))

    comps = {d["_id"]: d for d in db.product_component.find()}
    if set(comps) != set(products):
        die("product_component holds %s, the catalog %s" % (sorted(comps), sorted(products)))
    for sku, p in products.items():
        d = comps[sku]
        want = {"_id": sku, "product_id": sku, "name": p["name"],
                "price_cents": p["price_cents"], "version": p["version"],
                "components": p["components"]}
        if d != want:
            die("product_component %s is %s, want %s" % (sku, d, want))
    print("ok: %s: %d order_product documents, one per accepted order, and %d "
          "product_component documents, as doc/mongo.md says" % (dbname, len(logs), len(comps)))


def check_regional(client, prefix, regions):
    total = 0
    for r in regions:
        db = client[prefix + r]
        name = prefix + r
        left = list(db.intents.find({"$or": [{"state": "committed"},
                                             {"state": "aborted", "cleaned": {"$ne": True}}]}))
        if left:
            die("%s: intents left unfinished: %s" % (name, [d["_id"] for d in left]))
        claims = db.orders.count_documents({"t": {"$exists": True}})
        if claims:
            die("%s: %d order claims left" % (name, claims))
        held = [d for d in db.inventory.find() if d.get("holds")]
        if held:
            die("%s: holds left on %s" % (name, [d["_id"] for d in held]))
        orders = {d["_id"]: d for d in db.orders.find()}
        events = {}
        for ev in db.outbox.find({"kind": 1}):
            oid = ev["order"]["id"]
            if oid in events:
                die("%s: order %s has two outbox events" % (name, oid))
            events[oid] = ev
            o = orders.get(oid)
            if o is None:
                die("%s: outbox event %s for an order that does not exist" % (name, ev["_id"]))
            for k in ("region", "customer", "sku", "quantity", "unit_price_cents",
                      "placed_at_us"):
                if ev["order"][k] != o[k]:
                    die("%s: order %s: %s is %r, its event says %r"
                        % (name, oid, k, o[k], ev["order"][k]))
        if set(events) != set(orders):
            die("%s: %d orders without an outbox event" % (name, len(set(orders) - set(events))))
        sold = {}
        for o in orders.values():
            sold[o["sku"]] = sold.get(o["sku"], 0) + o["quantity"]
        for inv in db.inventory.find():
            sku = inv["_id"]
            if inv["sold"] != sold.get(sku, 0):
                die("%s: %s: sold %d, the orders say %d" % (name, sku, inv["sold"],
                                                           sold.get(sku, 0)))
            if inv["stock"] != inv["received"] - inv["sold"] or inv["stock"] < 0:
                die("%s: %s: stock %d, received %d, sold %d" % (name, sku, inv["stock"],
                                                               inv["received"], inv["sold"]))
        total += len(orders)
    print("ok: %d regional stores: no claim, hold or unfinished intent left; %d orders, each "
          "with one outbox event; stock = received - sold" % (len(regions), total))


def leftover(client, prefix, regions):
    claims = holds = committed = aborted = 0
    for r in regions:
        db = client[prefix + r]
        claims += db.orders.count_documents({"t": {"$exists": True}})
        holds += sum(len(d.get("holds") or []) for d in db.inventory.find())
        committed += db.intents.count_documents({"state": "committed"})
        aborted += db.intents.count_documents({"state": "aborted",
                                               "cleaned": {"$ne": True}})
    print("left between two steps: %d order claims, %d holds, %d committed intents, "
          "%d aborted intents not cleaned" % (claims, holds, committed, aborted))
    sys.exit(0 if claims + holds + committed + aborted else 3)


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    what, uri = sys.argv[1], sys.argv[2]
    client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=10000)
    if what == "documents":
        dbname, src = sys.argv[3], sys.argv[4]
        if src == "--sqlite":
            orders, products = sqlite_truth(sys.argv[5])
        elif src == "--mongo":
            orders, products = mongo_truth(client, sys.argv[5], sys.argv[6:])
        else:
            sys.exit(__doc__)
        if not orders:
            die("no regional order found to compare with")
        check_documents(client, dbname, orders, products)
    elif what == "leftover":
        leftover(client, sys.argv[3], sys.argv[4:])
    elif what == "regional":
        check_regional(client, sys.argv[3], sys.argv[4:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
