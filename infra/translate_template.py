"""Translates the SAM template to plain CloudFormation JSON, offline.

    .venv-sam/bin/python infra/translate_template.py template.yaml OUT.json

Runs the same translator CloudFormation runs for `Transform:
AWS::Serverless-2016-10-31`, so the event source mappings, roles and
permissions SAM generates can be linted as the resources they become. Needs
no AWS account: local CodeUri paths are replaced by placeholder S3 locations
(as `sam package` would upload them), and managed policies are looked up in a
fixed map instead of IAM. Exits 1 with the translator's messages when the
template does not translate.
"""

import json
import sys

from samcli.yamlhelper import yaml_parse
from samtranslator.model.exceptions import InvalidDocumentException
from samtranslator.translator.transform import transform

# Where the packaged code would be; never read, only linted as a name.
PLACEHOLDER_BUCKET = "user-sync-artifacts"

# The translator knows the AWS managed policies itself and asks this loader
# only for a name it does not know; it never needs IAM. The ones a Lambda
# function may name, with their real ARNs.
MANAGED_POLICIES = {
    "AWSLambdaBasicExecutionRole": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "AWSLambdaDynamoDBExecutionRole": "arn:aws:iam::aws:policy/service-role/AWSLambdaDynamoDBExecutionRole",
    "AWSLambdaSQSQueueExecutionRole": "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole",
    "AWSXRayDaemonWriteAccess": "arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess",
    "AWSXrayWriteOnlyAccess": "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
}


class FixedManagedPolicyLoader:
    """A managed-policy loader that needs no AWS account."""

    def load(self):
        return dict(MANAGED_POLICIES)


# (resource type, property holding a local path)
LOCAL_PATHS = [
    ("AWS::Serverless::Function", "CodeUri"),
    ("AWS::Serverless::LayerVersion", "ContentUri"),
    ("AWS::Serverless::Api", "DefinitionUri"),
    ("AWS::Serverless::HttpApi", "DefinitionUri"),
    ("AWS::Serverless::StateMachine", "DefinitionUri"),
]


def placeholder_uri(logical_id):
    return f"s3://{PLACEHOLDER_BUCKET}/{logical_id}"


def with_packaged_paths(template):
    """Replaces local paths with S3 locations, as `sam package` does."""
    for section, props in (template.get("Globals") or {}).items():
        code_uri = props.get("CodeUri") if isinstance(props, dict) else None
        if isinstance(code_uri, str) and not code_uri.startswith("s3://"):
            props["CodeUri"] = placeholder_uri(f"Globals{section}")
    for logical_id, resource in (template.get("Resources") or {}).items():
        props = resource.get("Properties")
        if not isinstance(props, dict):
            continue
        for resource_type, key in LOCAL_PATHS:
            value = props.get(key)
            if resource.get("Type") == resource_type and isinstance(value, str) and not value.startswith("s3://"):
                props[key] = placeholder_uri(logical_id)
    return template


def main(argv):
    if len(argv) != 3:
        print("usage: translate_template.py TEMPLATE.yaml OUT.json", file=sys.stderr)
        return 2
    source, target = argv[1], argv[2]
    with open(source, encoding="utf-8") as f:
        template = yaml_parse(f.read())
    try:
        translated = transform(with_packaged_paths(template), {}, FixedManagedPolicyLoader())
    except InvalidDocumentException as e:
        print(f"{source}: the SAM translator rejected the template:", file=sys.stderr)
        for cause in e.causes:
            print(f"  {cause.message}", file=sys.stderr)
        return 1
    with open(target, "w", encoding="utf-8") as f:
        json.dump(translated, f, indent=2)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
