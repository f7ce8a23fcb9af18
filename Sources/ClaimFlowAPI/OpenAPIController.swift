import Hummingbird
import NIOCore

/// `GET /openapi.yaml`: the OpenAPI 3.1 description of every route, without a token, served
/// as-is from `Assets/openapi.yaml` (the contract: request types are held against it by the
/// contract test).
struct OpenAPIController: Sendable {
    /// The document's text, embedded at build time.
    static let document = embeddedAssetFiles.first { $0.name == "openapi.yaml" }?.text ?? ""

    func addRoutes(to router: Router<ClaimFlowRequestContext>) {
        router.get("openapi.yaml") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "application/yaml"],
                body: .init(byteBuffer: ByteBuffer(string: Self.document))
            )
        }
    }
}
