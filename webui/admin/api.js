// The store admin's edge API client: the shared client with the admin's own session.
import { createClient } from "/common/api.js";

export { ApiError, NetworkError, newIdempotencyKey } from "/common/api.js";
export const { session, call, get, post } = createClient("novapos.admin.session");
