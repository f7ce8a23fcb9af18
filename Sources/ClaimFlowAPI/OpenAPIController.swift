import Hummingbird
import NIOCore

/// `GET /openapi.yaml`: the OpenAPI 3.1 description of every route, without a token.
struct OpenAPIController: Sendable {
    func addRoutes(to router: Router<ClaimFlowRequestContext>) {
        router.get("openapi.yaml") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "application/yaml"],
                body: .init(byteBuffer: ByteBuffer(string: openAPIDocument))
            )
        }
    }
}
