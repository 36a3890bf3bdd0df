// Platform calls may complete synchronously (native, fast) or asynchronously (slow hardware,
// the XS bridge); callers always `await`, implementers choose.
export type MaybePromise<T> = T | Promise<T>;
