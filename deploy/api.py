"""The HTTP API in front of the function: the app's three routes, payload format 2.0."""

from __future__ import annotations

from deploy.cfn import Json, arn, logical_id, ref, sub
from deploy.function import FUNCTION

API = "HttpApi"
INTEGRATION = "HttpApiIntegration"
STAGE = "HttpApiStage"
PERMISSION = "HttpApiInvokePermission"
EXECUTE_API = "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}"
# server.create_app's routes; /graphql answers GET (persisted queries) and POST.
ROUTES = ("ANY /graphql", "GET /healthz", "GET /readyz")


def route_id(route: str) -> str:
    return logical_id("Route", route.lower())


def api_resources() -> Json:
    resources: Json = {
        API: {
            "Type": "AWS::ApiGatewayV2::Api",
            "Properties": {
                "Name": sub("${AWS::StackName}-api"),
                "ProtocolType": "HTTP",
                "Description": "Zebros CRM GraphQL API",
            },
        },
        INTEGRATION: {
            "Type": "AWS::ApiGatewayV2::Integration",
            "Properties": {
                "ApiId": ref(API),
                "IntegrationType": "AWS_PROXY",
                "IntegrationUri": arn(FUNCTION),
                "PayloadFormatVersion": "2.0",
            },
        },
        STAGE: {
            "Type": "AWS::ApiGatewayV2::Stage",
            "Properties": {"ApiId": ref(API), "StageName": "$default", "AutoDeploy": True},
        },
        PERMISSION: {
            "Type": "AWS::Lambda::Permission",
            "Properties": {
                "Action": "lambda:InvokeFunction",
                "FunctionName": ref(FUNCTION),
                "Principal": "apigateway.amazonaws.com",
                # Any stage and route of this API, and of no other.
                "SourceArn": sub(f"{EXECUTE_API}:${{{API}}}/*"),
            },
        },
    }
    for route in ROUTES:
        resources[route_id(route)] = {
            "Type": "AWS::ApiGatewayV2::Route",
            "Properties": {
                "ApiId": ref(API),
                "RouteKey": route,
                "Target": sub(f"integrations/${{{INTEGRATION}}}"),
            },
        }
    return resources


def api_url() -> Json:
    return sub(f"https://${{{API}}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/")
