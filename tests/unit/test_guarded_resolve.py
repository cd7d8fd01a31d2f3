"""The guarded-set checker's own parts, without a synth: CloudFormation's names resolved the same way in a rule's
pattern and in the event naming the resource, and a call matched (or not) by moto's EventBridge matcher."""

from __future__ import annotations

from typing import Any

from tests.guarded import Call, Instance, api_event, guarded_by

TEMPLATE: dict[str, Any] = {
    "Parameters": {"Home": {"Type": "String", "Default": "us-east-1"}},
    "Conditions": {"AtHome": {"Fn::Equals": [{"Ref": "AWS::Region"}, {"Ref": "Home"}]}},
    "Resources": {
        "Topic": {"Type": "AWS::SNS::Topic", "Properties": {}},
        "Key": {"Type": "AWS::KMS::Key", "Properties": {}},
        "Fn": {"Type": "AWS::Lambda::Function", "Properties": {"FunctionName": "g-fn"}},
        "Elsewhere": {"Type": "AWS::SQS::Queue", "Condition": "AtHome", "Properties": {"QueueName": "q"}},
        "Guard": {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "Name": "g-guard-sns",
                "EventPattern": {
                    "source": ["aws.sns"],
                    "detail": {
                        "eventName": ["DeleteTopic"],
                        "sourceIPAddress": [{"anything-but": "cloudformation.amazonaws.com"}],
                        "requestParameters": {"topicArn": [{"Ref": "Topic"}]},
                    },
                },
                "Targets": [{"Id": "t", "Arn": {"Ref": "Topic"}}],
            },
        },
        "Watch": {
            "Type": "AWS::Events::Rule",
            "Properties": {"Name": "g-watch-1", "EventPattern": {"source": ["aws.sns"]}, "Targets": []},
        },
    },
}


def instance(region: str = "us-east-1") -> Instance:
    return Instance(TEMPLATE, "g", "111122223333", region)


def test_names_resolve_as_cloudformation_makes_them() -> None:
    at_home = instance()
    assert at_home.ref("Topic") == "arn:aws:sns:us-east-1:111122223333:g-Topic-AbC123xYz"
    assert at_home.arn("Fn") == "arn:aws:lambda:us-east-1:111122223333:function:g-fn"
    assert at_home.arn("Key") == f"arn:aws:kms:us-east-1:111122223333:key/{at_home.ref('Key')}"
    assert at_home.resolve({"Fn::Join": [":", [{"Ref": "AWS::Region"}, {"Fn::GetAtt": ["Fn", "Arn"]}]]}) == (
        "us-east-1:arn:aws:lambda:us-east-1:111122223333:function:g-fn"
    )
    assert at_home.resolve({"Fn::Sub": "${AWS::AccountId}/${Fn}"}) == "111122223333/g-fn"
    assert "Elsewhere" in at_home.resources()
    assert "Elsewhere" not in instance("eu-west-1").resources()  # its condition is false there


def test_a_call_is_guarded_only_by_a_rule_that_matches_it_and_never_by_a_watch_rule() -> None:
    at_home = instance()
    topic = at_home.ref("Topic")
    delete = Call("sns.amazonaws.com", "DeleteTopic", "topicArn")
    assert guarded_by(at_home, api_event(at_home, delete, topic, "insider")) == ["g-guard-sns"]
    assert guarded_by(at_home, api_event(at_home, delete, topic, "cloudformation")) == []  # the watch rule is no guard
    assert guarded_by(at_home, api_event(at_home, delete, topic + "-other", "insider")) == []
    subscribe = Call("sns.amazonaws.com", "Subscribe", "topicArn")
    assert guarded_by(at_home, api_event(at_home, subscribe, topic, "insider")) == []
    template = {**TEMPLATE, "Resources": {**TEMPLATE["Resources"]}}
    template["Resources"]["Guard"] = {
        "Type": "AWS::Events::Rule",
        "Properties": {**TEMPLATE["Resources"]["Guard"]["Properties"], "Targets": []},
    }
    untargeted = Instance(template, "g", "111122223333", "us-east-1")
    assert guarded_by(untargeted, api_event(untargeted, delete, topic, "insider")) == []  # it sends nowhere
