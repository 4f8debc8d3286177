// Test-only: the RateLimiter namespace binding, wrapped so that a test entry sees (and may
// answer instead of) each call its worker makes to a limiter object, by the object's name.
// Shared by limiter-overload-entry.mjs and limiter-count-entry.mjs; the worker's code is
// unchanged, it is only handed the wrapped binding.

/**
 * `ns` wrapped: `intercept(name)` is asked for each stub the worker gets (by the name it gave
 * `idFromName`); `null` leaves that stub as it is, else the stub's `fetch` calls
 * `handler(request, body, send)`: the request, its body text, and `send()` to pass it on.
 */
export function wrapLimiterNamespace(ns, intercept) {
  const names = new WeakMap();
  return new Proxy(ns, {
    get(target, prop) {
      const value = Reflect.get(target, prop);
      // workers-rs checks constructor.name; keep it as it is.
      if (typeof value !== 'function' || prop === 'constructor') return value;
      if (prop === 'idFromName') {
        return (name) => {
          const id = value.call(target, name);
          names.set(id, name);
          return id;
        };
      }
      if (prop === 'get') {
        return (id, ...rest) => {
          const stub = value.call(target, id, ...rest);
          const handler = intercept(names.get(id) ?? '');
          if (!handler) return stub;
          return new Proxy(stub, {
            get(s, p) {
              const v = Reflect.get(s, p);
              if (p !== 'fetch') return typeof v === 'function' ? v.bind(s) : v;
              return async (req, init) => {
                const request = new Request(req, init);
                const body = await request.clone().text();
                return handler(request, body, () => v.call(s, request));
              };
            },
          });
        };
      }
      return value.bind(target);
    },
  });
}
