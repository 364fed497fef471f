// Stand-ins for the Worker's bindings, each of the binding's own type, so a test
// hands one to the Worker as it is. A stand-in does what the test gives it and
// nothing else: any other call throws, so a test never passes on a call it did not expect.

/** A method a stand-in was not given: calling it fails the test that did. */
export function notUsed(what: string): () => never {
  return () => {
    throw new Error(`${what}: not used in this test`);
  };
}

/** An R2 bucket with only the `given` methods. */
export function bucketWith(given: Partial<R2Bucket>): R2Bucket {
  return {
    head: notUsed("R2Bucket.head"),
    get: notUsed("R2Bucket.get"),
    put: notUsed("R2Bucket.put"),
    createMultipartUpload: notUsed("R2Bucket.createMultipartUpload"),
    resumeMultipartUpload: notUsed("R2Bucket.resumeMultipartUpload"),
    delete: notUsed("R2Bucket.delete"),
    list: notUsed("R2Bucket.list"),
    ...given,
  };
}

/**
 * A Durable Object namespace whose object of each name is `objectOf(name)`: some of
 * the class's public methods, checked against the class.
 *
 * The one cast of these stand-ins: a real stub is an RPC proxy whose methods answer
 * pipelined promises carrying disposers, a type no plain object has, whereas the
 * Worker only awaits what they answer. A fake answers plain promises, and is passed
 * off as a stub here, and only here.
 */
export function fakeNamespace<T extends Rpc.DurableObjectBranded>(objectOf: (name: string) => Partial<T>): DurableObjectNamespace<T> {
  const idOf = (name: string): DurableObjectId => ({ name, toString: () => name, equals: (other) => other.name === name });
  const stubOf = (id: DurableObjectId): DurableObjectStub<T> => {
    if (id.name === undefined) throw new Error("a fake Durable Object is found by name");
    const stub = { ...objectOf(id.name), id, name: id.name, fetch: notUsed("stub.fetch"), connect: notUsed("stub.connect") };
    return stub as DurableObjectStub<T>;
  };
  const namespace: DurableObjectNamespace<T> = {
    newUniqueId: notUsed("DurableObjectNamespace.newUniqueId"),
    idFromString: notUsed("DurableObjectNamespace.idFromString"),
    idFromName: idOf,
    get: stubOf,
    getByName: (name) => stubOf(idOf(name)),
    jurisdiction: () => namespace,
  };
  return namespace;
}
