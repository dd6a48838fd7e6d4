/**
 * aws-local-stepfunctions 3 calls `Promise.withResolvers` (Node 22+); this adds it on Node 20.
 * Imported for its side effect before any state machine runs.
 */

interface Resolvers<T> {
  promise: Promise<T>;
  resolve: (value: T | PromiseLike<T>) => void;
  reject: (reason?: unknown) => void;
}

if (typeof Reflect.get(Promise, 'withResolvers') !== 'function') {
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value: function withResolvers<T>(): Resolvers<T> {
      let resolve: Resolvers<T>['resolve'] = () => {};
      let reject: Resolvers<T>['reject'] = () => {};
      const promise = new Promise<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
  });
}
