// The socket and resolver classes the HTTP client is given as `socket.io` / `dns.io`
// (embedded:io/socket/tcp, …/tcp/tls, embedded:io/socket/udp, embedded:network/dns/resolver/udp).
// The emulation works at the HTTP client level (host.ts speaks HTTP through Node), so these are the
// identities the client checks — TCP means http, TLSSocket means https with its `secure` options —
// and constructing one directly is refused rather than pretending to be a socket.
function refuse(what: string): never {
  throw new Error(`${what}: the simulator emulates sockets only through embedded:network/http/client`);
}

export class TCP {
  constructor() {
    refuse('embedded:io/socket/tcp');
  }
}

export class TLSSocket {
  constructor() {
    refuse('embedded:io/socket/tcp/tls');
  }
}

export class UDP {
  constructor() {
    refuse('embedded:io/socket/udp');
  }
}

export class Resolver {
  constructor() {
    refuse('embedded:network/dns/resolver/udp');
  }
}
