// IndexedDB: the catalog cache (products + meta.catalog_version) and the offline sale queue.
// `queue` holds sales not yet accepted by the edge; `verdicts` keeps what the edge answered,
// including the ones an operator still has to look at (the resolution list).

const DB_NAME = "novapos-lane";
const DB_VERSION = 1;
let opened = null;

export function openDb() {
  opened ??= new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, DB_VERSION);
    request.onupgradeneeded = () => {
      const db = request.result;
      db.createObjectStore("products", { keyPath: "id" });
      db.createObjectStore("meta");
      db.createObjectStore("queue", { keyPath: "idempotency_key" }).createIndex("created", "offline_created_at");
      db.createObjectStore("verdicts", { keyPath: "idempotency_key" });
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  return opened;
}

function done(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = tx.onabort = () => reject(tx.error);
  });
}

function result(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

export async function getAll(store) {
  const db = await openDb();
  return result(db.transaction(store).objectStore(store).getAll());
}

export async function put(store, value) {
  const db = await openDb();
  const tx = db.transaction(store, "readwrite");
  tx.objectStore(store).put(value);
  return done(tx);
}

export async function remove(store, key) {
  const db = await openDb();
  const tx = db.transaction(store, "readwrite");
  tx.objectStore(store).delete(key);
  return done(tx);
}

export async function getMeta(key) {
  const db = await openDb();
  return result(db.transaction("meta").objectStore("meta").get(key));
}

export async function putMeta(key, value) {
  const db = await openDb();
  const tx = db.transaction("meta", "readwrite");
  tx.objectStore("meta").put(value, key);
  return done(tx);
}

/** One page of catalog changes and the version they bring the cache to, in one transaction. */
export async function applyCatalogPage(items, version) {
  const db = await openDb();
  const tx = db.transaction(["products", "meta"], "readwrite");
  const products = tx.objectStore("products");
  for (const item of items) products.put(item);
  tx.objectStore("meta").put(version, "catalog_version");
  return done(tx);
}

/** A sale enters the queue and the verdict list atomically moves it out on replay. */
export async function settleQueued(key, verdict) {
  const db = await openDb();
  const tx = db.transaction(["queue", "verdicts"], "readwrite");
  tx.objectStore("queue").delete(key);
  tx.objectStore("verdicts").put(verdict);
  return done(tx);
}
