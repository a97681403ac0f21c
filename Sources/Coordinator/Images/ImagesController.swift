import Foundation
import HTTPTypes
import Hummingbird
import ImageKit
import NIOCore

/// The public image endpoint on the coordinator: `/cdn-cgi/image/?url=…` and Cloudflare's path
/// form `/cdn-cgi/image/<options>/<source>` (product guide §4). Edge nodes serve the same
/// endpoint on proxied domains, with the results in their cache.
struct ImagesController {
    let images: ImagePipeline
    let publicURL: String

    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("cdn-cgi/image") { request, _ in try await answer(request) }
        router.get("cdn-cgi/image/**") { request, _ in try await answer(request) }
        router.head("cdn-cgi/image") { request, _ in try await answer(request, head: true) }
        router.head("cdn-cgi/image/**") { request, _ in try await answer(request, head: true) }
    }

    private func answer(_ request: Request, head: Bool = false) async throws -> Response {
        let answer = await images.answer(
            target: request.uri.description, origin: publicURL, accept: request.headers[.accept])
        return Self.response(answer, head: head, ifNoneMatch: request.headers[.ifNoneMatch])
    }

    /// An answer as a response, 304 when the client already has this ETag.
    static func response(_ answer: ImagePipeline.Answer, head: Bool, ifNoneMatch: String?) -> Response {
        var fields = HTTPFields()
        for (name, value) in answer.headers {
            if let name = HTTPField.Name(name) { fields.append(HTTPField(name: name, value: value)) }
        }
        if answer.status == 200, let ifNoneMatch, let etag = fields[.eTag],
            ifNoneMatch.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == etag || $0 == "*" })
        {
            fields[.contentLength] = nil
            fields[.contentType] = nil
            return Response(status: .notModified, headers: fields)
        }
        return Response(
            status: .init(code: answer.status), headers: fields, body: head ? ResponseBody() : ResponseBody(byteBuffer: answer.body))
    }
}
