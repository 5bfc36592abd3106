// CoreDNS for the real node (scripts/cluster/node.ts) with only the plugins its Corefile uses:
// Service and Pod names from the API server, everything else forwarded to the host's resolvers.
// A wrapper module (the etcd and k8s ones beside it are the pattern) so the build needs neither
// the cloud providers' SDKs of the full plugin list nor a second copy of client-go's version.
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/forward"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/loop"
	_ "github.com/coredns/coredns/plugin/ready"
)

// The order plugin.cfg gives these plugins: a request passes through them in this order.
var directives = []string{"bind", "ready", "health", "errors", "log", "loadbalance", "cache", "kubernetes", "loop", "forward"}

func init() {
	dnsserver.Directives = directives
}

func main() {
	coremain.Run()
}
