#!/usr/bin/python3
"""standin_test.py - what the MongoDB plugin relies on, checked with an
independent client (python3-pymongo) against the server at URI: the
stand-in (tests/servers/mongo_standin.py) in make check, or a real mongod
(DDBSIM_TEST_MONGO_URI).  A server that let a duplicate key through would
make every idempotency test of ddbsim worthless: this test fails then.

Usage: standin_test.py URI DATABASE PHASE
  PHASE write   the checks that write, leaving data and indexes behind
  PHASE again   after a restart of the server: the data, the indexes and
                their uniqueness are still there; then the same checks
                once more (a write after a restart is journaled too)
  PHASE check   after another restart: what both rounds wrote is there
  PHASE drop    drops DATABASE
"""
import sys
import warnings

warnings.simplefilter("ignore")

import bson  # noqa: E402
from bson.int64 import Int64  # noqa: E402
import pymongo  # noqa: E402
from pymongo.errors import BulkWriteError, DuplicateKeyError, OperationFailure  # noqa: E402

failures = 0


def check(cond, what):
    global failures
    if cond:
        print("ok: %s" % what)
    else:
        failures += 1
        print("FAIL: %s" % what)


def expect_dup(fn, what):
    try:
        fn()
    except DuplicateKeyError as e:
        check(e.code == 11000, "%s: rejected with code %s" % (what, e.code))
        return
    except (BulkWriteError, OperationFailure) as e:
        code = getattr(e, "code", None)
        details = getattr(e, "details", None) or {}
        codes = [w.get("code") for w in details.get("writeErrors", [])]
        check(code == 11000 or codes == [11000],
              "%s: rejected with code %s %s" % (what, code, codes))
        return
    check(False, "%s: accepted a duplicate key" % what)


def write_phase(db, tag):
    """The checks that write; tag keeps the documents of two rounds apart."""
    c = db["logs" + tag]
    # Unique indexes: _id, and a secondary one.
    c.create_index([("log_id", 1)], unique=True, name="log_id_unique")
    c.insert_one({"_id": "o-1" + tag, "log_id": "log:o-1" + tag, "n": 1})
    expect_dup(lambda: c.insert_one({"_id": "o-1" + tag, "log_id": "other" + tag}),
               "insert of an existing _id")
    expect_dup(lambda: c.insert_one({"_id": "o-2" + tag, "log_id": "log:o-1" + tag}),
               "insert of an existing key of a unique index")
    c.insert_one({"_id": "o-2" + tag, "log_id": "log:o-2" + tag, "n": 2})
    expect_dup(lambda: c.update_one({"_id": "o-2" + tag}, {"$set": {"log_id": "log:o-1" + tag}}),
               "update onto an existing key of a unique index")
    check(c.find_one({"_id": "o-2" + tag})["log_id"] == "log:o-2" + tag,
          "the refused update changed nothing")
    expect_dup(lambda: c.update_one({"_id": "o-3" + tag}, {"$set": {"log_id": "log:o-1" + tag}},
                                    upsert=True),
               "upsert onto an existing key of a unique index")
    check(c.count_documents({"_id": "o-3" + tag}) == 0, "the refused upsert inserted nothing")
    # An unordered bulk insert: the duplicate fails alone, by its index.
    try:
        c.insert_many([{"_id": "b-1" + tag, "log_id": "b1" + tag},
                       {"_id": "o-1" + tag, "log_id": "b2" + tag},
                       {"_id": "b-3" + tag, "log_id": "b3" + tag}], ordered=False)
        check(False, "an unordered bulk with a duplicate reported no error")
    except BulkWriteError as e:
        errs = e.details["writeErrors"]
        check([(w["index"], w["code"]) for w in errs] == [(1, 11000)],
              "unordered bulk: only index 1 refused, code 11000 (%s)" % errs)
        check(e.details["nInserted"] == 2, "unordered bulk: the other two inserted")
    # A unique index cannot be built over duplicates.
    d = db["dups" + tag]
    d.insert_many([{"_id": 1, "k": "x"}, {"_id": 2, "k": "x"}])
    expect_dup(lambda: d.create_index([("k", 1)], unique=True, name="k_unique"),
               "a unique index over existing duplicates")
    check("k_unique" not in d.index_information(), "the refused index does not exist")

    # Upserts: insert, then update; $setOnInsert only the first time.
    u = db["upserts" + tag]
    r = u.update_one({"_id": "k" + tag}, {"$set": {"v": 1}, "$setOnInsert": {"first": 1}},
                     upsert=True)
    check(r.upserted_id == "k" + tag and r.matched_count == 0, "an upsert inserts")
    r = u.update_one({"_id": "k" + tag}, {"$set": {"v": 2}, "$setOnInsert": {"first": 2}},
                     upsert=True)
    check(r.upserted_id is None and r.matched_count == 1 and r.modified_count == 1,
          "the same upsert again updates")
    doc = u.find_one({"_id": "k" + tag})
    check(doc["v"] == 2 and doc["first"] == 1, "$setOnInsert kept the first value")
    check(u.count_documents({"_id": "k" + tag}) == 1, "one document after two upserts")

    # Conditional updates: last writer by version wins.
    v = db["versions" + tag]
    v.update_one({"_id": "c" + tag, "version": {"$lt": 5}},
                 {"$set": {"version": 5, "name": "five"}}, upsert=True)
    r = v.update_one({"_id": "c" + tag, "version": {"$lt": 3}},
                     {"$set": {"version": 3, "name": "three"}})
    check(r.matched_count == 0 and r.modified_count == 0,
          "a conditional update whose filter does not match changes nothing")
    expect_dup(lambda: v.update_one({"_id": "c" + tag, "version": {"$lt": 4}},
                                    {"$set": {"version": 4, "name": "four"}}, upsert=True),
               "a conditional upsert older than the stored version")
    check(v.find_one({"_id": "c" + tag}) == {"_id": "c" + tag, "version": 5, "name": "five"},
          "the stored version 5 is untouched")
    v.update_one({"_id": "c" + tag, "version": {"$lt": 7}},
                 {"$set": {"version": 7, "name": "seven"}}, upsert=True)
    check(v.find_one({"_id": "c" + tag})["name"] == "seven", "a newer version replaces it")
    # The conditional stock decrement.
    s = db["stock" + tag]
    s.insert_one({"_id": "sku" + tag, "stock": Int64(3)})
    r = s.update_one({"_id": "sku" + tag, "stock": {"$gte": 5}}, {"$inc": {"stock": -5}})
    check(r.modified_count == 0 and s.find_one({"_id": "sku" + tag})["stock"] == 3,
          "a conditional decrement beyond the stock changes nothing")
    r = s.update_one({"_id": "sku" + tag, "stock": {"$gte": 3}},
                     {"$inc": {"stock": -3}, "$push": {"holds": {"b": "B1", "q": 3}}})
    check(r.modified_count == 1 and s.find_one({"_id": "sku" + tag})["stock"] == 0,
          "a conditional decrement within the stock applies")
    r = s.update_one({"_id": "sku" + tag, "holds.b": "B1"},
                     {"$inc": {"stock": 3}, "$pull": {"holds": {"b": "B1"}}})
    r2 = s.update_one({"_id": "sku" + tag, "holds.b": "B1"},
                      {"$inc": {"stock": 3}, "$pull": {"holds": {"b": "B1"}}})
    check(r.modified_count == 1 and r2.modified_count == 0 and
          s.find_one({"_id": "sku" + tag})["stock"] == 3,
          "a give-back conditional on its hold happens once")

    # Types: string _ids stay strings, 64-bit integers stay exact.
    t = db["types" + tag]
    big = Int64(2**62 + 1)
    t.insert_one({"_id": "123" + tag, "n": big, "neg": Int64(-(2**63))})
    t.insert_one({"_id": 123, "n": 1})
    got = t.find_one({"_id": "123" + tag})
    check(isinstance(got["_id"], str) and got["_id"] == "123" + tag, "a string _id stays a string")
    check(got["n"] == 2**62 + 1 and got["neg"] == -(2**63), "64-bit integers round-trip exactly")
    check(t.count_documents({"_id": 123}) == 1 and t.count_documents({"_id": "123" + tag}) == 1
          and t.count_documents({}) == 2,
          "the string '123' and the integer 123 are two keys")

    # Counters: findAndModify with $inc and upsert returns the new value.
    k = db["counters" + tag]
    a = k.find_one_and_update({"_id": "seq" + tag}, {"$inc": {"n": Int64(5)}}, upsert=True,
                              return_document=pymongo.ReturnDocument.AFTER)
    b = k.find_one_and_update({"_id": "seq" + tag}, {"$inc": {"n": Int64(2)}}, upsert=True,
                              return_document=pymongo.ReturnDocument.AFTER)
    check(a["n"] == 5 and b["n"] == 7, "findAndModify $inc with upsert counts 5, 7")

    # Sort is bytewise on strings; cursors page through getMore.
    o = db["order" + tag]
    keys = ["b", "B", "a", "A", "\u00e9", "z", "aa", "a b", "Z9", "_", "10", "9"]
    o.insert_many([{"_id": x + tag} for x in keys])
    got = [d["_id"] for d in o.find({"_id": {"$in": [x + tag for x in keys]}}).sort("_id", 1)]
    want = sorted(x + tag for x in keys)  # code point order: UTF-8 byte order
    check(got == want, "strings sort bytewise (%s)" % got)
    p = db["pages" + tag]
    p.insert_many([{"_id": "%06d%s" % (i, tag), "i": i} for i in range(1000)])
    seen = [d["i"] for d in p.find({}, batch_size=7).sort("_id", 1)]
    check(seen == list(range(1000)), "a cursor pages through 1000 documents in batches of 7")

    # Queries by an equality on a field (an outbox read by state) see
    # every insert, update and delete.
    e = db["events" + tag]
    e.insert_many([{"_id": Int64(i), "state": 0} for i in range(300)])
    e.update_many({"_id": {"$in": list(range(0, 300, 3))}}, {"$set": {"state": 1}})
    e.delete_many({"_id": {"$in": list(range(0, 300, 9))}})
    want = [i for i in range(0, 300, 3) if i % 9 != 0]
    check(sorted(d["_id"] for d in e.find({"state": 1})) == want,
          "equality reads see updates and deletes")
    first = list(e.find({"state": 0, "_id": {"$gt": 100}}).sort("_id", 1).limit(3))
    check([d["_id"] for d in first] == [101, 103, 104], "range, equality, sort and limit")
    e.update_many({"state": 1}, {"$set": {"state": 2}})
    check(e.count_documents({"state": 1}) == 0 and
          e.count_documents({"state": 2}) == len(want), "an update moves documents between values")
    e.update_one({"_id": 1}, {"$set": {"state": [0, 7]}})
    check(sorted(d["_id"] for d in e.find({"state": 7})) == [1],
          "an array value matches by its elements")
    e.delete_many({})
    check(e.count_documents({"state": 0}) == 0, "nothing after a delete of all")

    # Aggregation as the sales report uses it.
    g = db["sales" + tag]
    g.insert_many([{"_id": "1" + tag, "r": "eu", "q": 2, "p": 150},
                   {"_id": "2" + tag, "r": "eu", "q": 1, "p": 999},
                   {"_id": "3" + tag, "r": "us", "q": 5, "p": 150}])
    rows = list(g.aggregate([
        {"$match": {"_id": {"$in": ["1" + tag, "2" + tag, "3" + tag]}}},
        {"$group": {"_id": "$r", "orders": {"$sum": 1}, "units": {"$sum": "$q"},
                    "revenue": {"$sum": {"$multiply": ["$q", "$p"]}}}},
        {"$sort": {"_id": 1}}]))
    check(rows == [{"_id": "eu", "orders": 2, "units": 3, "revenue": 1299},
                   {"_id": "us", "orders": 1, "units": 5, "revenue": 750}],
          "aggregate $group/$sum/$multiply/$sort (%s)" % rows)


def after_restart(db, tag):
    """What a restart must keep."""
    c = db["logs" + tag]
    info = c.index_information()
    check("log_id_unique" in info and info["log_id_unique"].get("unique"),
          "the unique index survived (%s)" % sorted(info))
    check(c.find_one({"_id": "o-1" + tag}) == {"_id": "o-1" + tag, "log_id": "log:o-1" + tag,
                                               "n": 1},
          "a document survived")
    expect_dup(lambda: c.insert_one({"_id": "o-9" + tag, "log_id": "log:o-1" + tag}),
               "after the restart, insert of an existing key of a unique index")
    expect_dup(lambda: c.insert_one({"_id": "o-2" + tag}), "after the restart, an existing _id")
    k = db["counters" + tag]
    cur = (k.find_one({"_id": "seq" + tag}) or {}).get("n", 0)
    b = k.find_one_and_update({"_id": "seq" + tag}, {"$inc": {"n": Int64(1)}}, upsert=True,
                              return_document=pymongo.ReturnDocument.AFTER)
    check(cur >= 7 and b["n"] == cur + 1, "the counter survived (%s) and counts on" % cur)
    got = db["types" + tag].find_one({"_id": "123" + tag})
    check(got is not None and isinstance(got["_id"], str) and got["n"] == 2**62 + 1,
          "a string _id and a 64-bit integer survived")
    check(db["pages" + tag].count_documents({}) >= 1000, "1000 documents survived")


def main():
    uri, dbname, phase = sys.argv[1:4]
    client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=5000)
    db = client[dbname]
    hello = client.admin.command("ismaster")
    if phase == "write":
        if "mongo_standin" in client.admin.command("serverStatus").get("process", ""):
            check("topologyVersion" not in hello,
                  "the stand-in's hello has no topologyVersion (no busy polling)")
        client.drop_database(dbname)
        write_phase(db, "")
    elif phase == "again":
        after_restart(db, "")
        write_phase(db, "-again")
    elif phase == "check":
        after_restart(db, "")
        after_restart(db, "-again")
    elif phase == "drop":
        client.drop_database(dbname)
    else:
        sys.exit("unknown phase " + phase)
    client.close()
    if failures:
        print("%d check(s) failed" % failures)
        sys.exit(1)


if __name__ == "__main__":
    main()
