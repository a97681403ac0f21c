import Hummingbird
import Prometheus

/// Request counts and latencies by route template (never the raw path, to bound cardinality),
/// method and status, in the coordinator's own Prometheus registry.
struct HTTPMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let registry: PrometheusCollectorRegistry
    static var requests: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "dcdn", subsystem: "http", metricName: "requests", unitName: "total",
            helpText: "HTTP requests by route, method and status")
    }
    static var duration: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "dcdn", subsystem: "http", metricName: "request_duration", unitName: "seconds",
            helpText: "HTTP request latency by route and method")
    }
    static var buckets: [Double] { [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        let route = context.endpointPath ?? "unmatched"
        let method = request.method.rawValue
        registry.makeCounter(
            descriptor: Self.requests,
            labels: [("method", method), ("route", route), ("status", String(response.status.code))]
        ).increment()
        registry.makeDurationHistogram(
            descriptor: Self.duration, labels: [("method", method), ("route", route)],
            buckets: Self.buckets.map { .milliseconds(Int64($0 * 1000)) }
        ).recordNanoseconds((ContinuousClock.now - start).nanoseconds)
        return response
    }
}

extension Duration {
    var nanoseconds: Int64 {
        components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000
    }
}
