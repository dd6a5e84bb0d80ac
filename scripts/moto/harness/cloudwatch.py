"""APIs moto lacks: CloudWatch over Smithy RPC v2 CBOR, DescribeAlarms filters."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

import cbor2  # Smithy RPC v2 CBOR bodies (patch cloudwatch-rpc-v2-cbor); pinned in scripts/requirements/moto.txt

from moto.core import parse, routing, serialize
from moto.core.parse import JSONParser
from moto.core.routing import ProtocolRouter
from moto.core.serialize import BaseJSONSerializer

from .core import patch, wrap
from .backup import add_routes


RPC_V2_CBOR = "smithy-rpc-v2-cbor"  # botocore's (and so moto's) name of smithy.protocols#rpcv2Cbor
CBOR_CONTENT_TYPE = "application/cbor"
# The Smithy namespace of a service's shapes: an RPC v2 CBOR error's __type is the error's shape id.
SMITHY_NAMESPACES = {"cloudwatch": "com.amazonaws.cloudwatch"}


class RpcV2CborRouter(ProtocolRouter):
    """RPC v2 CBOR names the operation in the path: POST /service/{ServiceName}/operation/{Operation}."""

    PATH = re.compile(r"/service/[^/]+/operation/([^/]+)")

    def _match(self, request: Any) -> tuple[Any, dict[str, Any]]:
        m = self.PATH.fullmatch(request.path)
        if request.method == "POST" and m and m.group(1) in self.service_model.operation_names:
            return self.service_model.operation_model(m.group(1)), {}
        return None, {}


class RpcV2CborParser(JSONParser):
    """The JSON protocol's walk of the input shape, over a CBOR body instead of a JSON one: timestamps
    arrive as tag 1 (epoch seconds; cbor2 decodes them to aware datetimes), blobs as byte strings."""

    def _parse_body_as_json(self, body_contents: Any) -> Any:
        return cbor2.loads(body_contents) if body_contents else {}

    def _parse_timestamp(self, shape: Any, value: Any) -> Any:
        if isinstance(value, datetime):  # moto keeps naive UTC datetimes (see default_timestamp_parser)
            return value.astimezone(timezone.utc).replace(tzinfo=None)
        if isinstance(value, (int, float)):
            return datetime.fromtimestamp(value, timezone.utc).replace(tzinfo=None)
        return super()._parse_timestamp(shape, value)

    def _parse_blob(self, shape: Any, value: Any) -> Any:
        return bytes(value) if isinstance(value, (bytes, bytearray)) else super()._parse_blob(shape, value)


class RpcV2CborSerializer(BaseJSONSerializer):
    """The JSON protocol's serializer with a CBOR body: timestamps as tag 1 epoch seconds, blobs as
    byte strings, doubles as floats, booleans as booleans; the smithy-protocol header on every
    response; no body (nor Content-Type) for an operation without output; an error is a map of
    __type (the error's shape id) and the error's members with its message, and, the services being
    awsQueryCompatible, the x-amzn-query-error header (code;Sender|Receiver) as AWS sends it."""

    CONTENT_TYPE = CBOR_CONTENT_TYPE

    def _serialize_body(self, body: Any) -> bytes:  # type: ignore[override]
        return cbor2.dumps(body)

    def _get_protocol_specific_content_type(self) -> str:
        return CBOR_CONTENT_TYPE

    def _serialize_type_timestamp(self, serialized: Any, value: Any, shape: Any, key: str) -> None:
        seconds = self._timestamp_serializer._convert_timestamp_to_str(value, "unixtimestamp")
        self._default_serialize(serialized, cbor2.CBORTag(1, seconds), shape, key)

    def _serialize_type_blob(self, serialized: Any, value: Any, shape: Any, key: str) -> None:
        self._default_serialize(serialized, value.encode() if isinstance(value, str) else bytes(value), shape, key)

    def _serialize_type_boolean(self, serialized: Any, value: Any, shape: Any, key: str) -> None:
        if isinstance(value, str):  # some moto models keep "true"/"false"
            value = value.lower() == "true"
        self._default_serialize(serialized, bool(value), shape, key)

    def _serialized_result_to_response(self, resp: Any, result: Any, shape: Any, serialized_result: Any) -> Any:
        resp["headers"]["smithy-protocol"] = "rpc-v2-cbor"
        if shape is None:
            resp["body"] = b""
            return resp
        return super()._serialized_result_to_response(resp, result, shape, serialized_result)

    def _serialize_error_metadata(self, serialized: Any, error: Exception, shape: Any) -> None:
        super()._serialize_error_metadata(serialized, error, shape)
        name = self.service_model.service_name
        namespace = SMITHY_NAMESPACES.get(name) or self.service_model.metadata.get("targetPrefix") or name
        serialized["__type"] = f"{namespace}#{shape.name}"
        message = serialized.pop("Message", None)
        if message is not None:
            serialized["Message" if "Message" in shape.members else "message"] = message

    def _serialized_error_to_response(self, resp: Any, error: Exception, shape: Any, serialized_error: Any) -> Any:
        resp = super()._serialized_error_to_response(resp, error, shape, serialized_error)
        resp["headers"].pop("X-Amzn-Errortype", None)  # awsJson's; RPC v2 CBOR has __type only
        resp["headers"]["smithy-protocol"] = "rpc-v2-cbor"
        return resp


@patch(
    "cloudwatch-rpc-v2-cbor",
    "CloudWatch also speaks Smithy RPC v2 CBOR, the protocol the SDKs now use (aws-sdk-cloudwatch for "
    "Rust 1.140+): POST /service/GraniteServiceVersion20100801/operation/<Operation>, headers "
    "smithy-protocol: rpc-v2-cbor and Content-Type: application/cbor, a CBOR body; the response "
    "carries smithy-protocol, a CBOR body (timestamps tag 1 epoch seconds), errors a CBOR map with "
    "__type and message plus x-amzn-query-error, with the error's HTTP status",
    "speaks the query and JSON protocols only: the path answers HTTP 404 with an HTML page, and "
    "BaseResponse.setup_class would fail decoding a CBOR body as UTF-8",
    "teach moto the protocol where it already dispatches on it, so every CloudWatch operation moto "
    "implements (DescribeAlarms, GetMetricData, PutMetricData, ...) works over it unchanged: an RPC "
    "v2 CBOR router, parser (cbor2 + the JSON parser's walk of the input shape) and serializer (the "
    "JSON serializer with a CBOR body) registered in moto.core's protocol tables, under the name "
    "botocore's model gives the protocol (moto picks it from Content-Type: application/cbor); "
    "setup_class keeps a CBOR body as bytes; add_routes gives cloudwatch the path",
)
def patch_cloudwatch_rpc_v2_cbor() -> None:
    from moto.cloudwatch import urls
    from moto.cloudwatch.responses import CloudWatchResponse
    from moto.core.responses import BaseResponse

    routing.PROTOCOL_ROUTERS[RPC_V2_CBOR] = RpcV2CborRouter
    parse.PROTOCOL_PARSERS[RPC_V2_CBOR] = RpcV2CborParser
    serialize.SERIALIZERS[RPC_V2_CBOR] = RpcV2CborSerializer

    @wrap(BaseResponse, "setup_class")
    def setup_class(original, self, request, full_url=None, headers=None, use_raw_body=None):
        if use_raw_body is None and (request.content_type or "").startswith(CBOR_CONTENT_TYPE):
            use_raw_body = True
        return original(self, request, full_url, headers, use_raw_body)

    add_routes(urls, {"{0}/service/(?P<service>[^/]+)/operation/(?P<operation>[^/]+)$": CloudWatchResponse.dispatch})


@patch(
    "cloudwatch-describe-alarms-filters",
    "DescribeAlarms applies every filter it is given together (AlarmNames, AlarmNamePrefix, "
    "ActionPrefix, StateValue), and returns only the alarm types named in AlarmTypes (only metric "
    "alarms when it is omitted)",
    "applies only the first of ActionPrefix, AlarmNamePrefix, AlarmNames, StateValue it finds (so "
    "AlarmNamePrefix + StateValue=ALARM, pypictl's query of the firing alarms, returns OK alarms "
    "too) and ignores AlarmTypes",
    "filter the result of moto's describe_alarms by all of them",
)
def patch_describe_alarms_filters() -> None:
    from moto.cloudwatch.responses import CloudWatchResponse

    @wrap(CloudWatchResponse, "describe_alarms")
    def describe_alarms(original, self):
        response = original(self)
        names = self._get_param("AlarmNames") or []
        prefix = self._get_param("AlarmNamePrefix")
        action_prefix = self._get_param("ActionPrefix")
        state = self._get_param("StateValue")
        types = self._get_param("AlarmTypes") or ["MetricAlarm"]

        def keep(alarm: Any) -> bool:
            return ((not names or alarm.name in names)
                    and (not prefix or alarm.name.startswith(prefix))
                    and (not action_prefix or any(a.startswith(action_prefix) for a in alarm.alarm_actions or []))
                    and (not state or alarm.state_value == state))

        result = response.result
        for kind, key in (("MetricAlarm", "MetricAlarms"), ("CompositeAlarm", "CompositeAlarms")):
            result[key] = [a for a in result[key] if keep(a)] if kind in types else []
        return response
