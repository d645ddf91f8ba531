using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using FnOperator.KubeApiServer.Validation.Cel;

namespace FnOperator.KubeApiServer.Validation.Schema;

/// <summary>
/// Runs a schema node's x-kubernetes-validations rules with self (and, for transition rules on update, oldSelf).
/// A false result is reported with the rule's message, or "failed rule: &lt;rule&gt;" without one.
/// </summary>
internal sealed class CelRules
{
    private readonly ConcurrentDictionary<string, CelExpr> compiled = new();

    /// <summary>Parses every rule in the schema, so a rule outside the supported subset fails at load time.</summary>
    public void Compile(JsonNode? schema, string where)
    {
        switch (schema)
        {
            case JsonObject obj:
                foreach (var rule in obj["x-kubernetes-validations"] as JsonArray ?? [])
                {
                    var text = (string?)rule?["rule"] ?? throw new CelException($"{where}: x-kubernetes-validations entry without a rule");
                    try
                    {
                        Parse(text);
                    }
                    catch (CelException e)
                    {
                        throw new CelException($"{where}: rule \"{text}\": {e.Message}");
                    }
                }

                foreach (var (key, child) in obj)
                {
                    if (key != "x-kubernetes-validations" && key != "default" && key != "enum" && key != "example")
                    {
                        Compile(child, where);
                    }
                }

                break;
            case JsonArray array:
                foreach (var child in array)
                {
                    Compile(child, where);
                }

                break;
        }
    }

    public void Validate(JsonNode value, JsonNode? old, JsonObject schema, string path, string typeName, List<FieldError> errors)
    {
        if (schema["x-kubernetes-validations"] is not JsonArray rules)
        {
            return;
        }

        var self = CelEvaluator.FromJson(value);
        foreach (var rule in rules.OfType<JsonObject>())
        {
            var text = (string)rule["rule"]!;
            var expr = Parse(text);
            var transition = References(expr, "oldSelf");
            if (transition && old is null)
            {
                continue; // transition rules only run on update, when there is an old value to compare with
            }

            var variables = new Dictionary<string, object> { ["self"] = self };
            if (transition)
            {
                variables["oldSelf"] = CelEvaluator.FromJson(old);
            }

            var field = (string?)rule["fieldPath"] is { } fieldPath ? path + fieldPath : path;
            string? failure;
            try
            {
                failure = CelEvaluator.AsBool(CelEvaluator.Evaluate(expr, variables)) ? null : Message(rule, text, variables);
            }
            catch (CelEvaluationException e)
            {
                failure = $"{e.Message} evaluating rule: {text}";
            }

            if (failure is not null)
            {
                errors.Add((string?)rule["reason"] switch
                {
                    "FieldValueForbidden" => FieldError.Forbidden(field, failure),
                    "FieldValueRequired" => FieldError.Required(field, failure),
                    _ => FieldError.Invalid(field, typeName, failure),
                });
            }
        }
    }

    private string Message(JsonObject rule, string text, Dictionary<string, object> variables)
    {
        if ((string?)rule["messageExpression"] is { } messageExpression)
        {
            try
            {
                if (CelEvaluator.Evaluate(Parse(messageExpression), variables) is string message && message.Length > 0)
                {
                    return message;
                }
            }
            catch (CelEvaluationException)
            {
                // as in Kubernetes, a failing messageExpression falls back to message / the rule
            }
        }

        return (string?)rule["message"] is { Length: > 0 } fixedMessage ? fixedMessage : $"failed rule: {text}";
    }

    private CelExpr Parse(string text) => compiled.GetOrAdd(text, CelParser.Parse);

    private static bool References(CelExpr expr, string name) => expr switch
    {
        CelIdent ident => ident.Name == name,
        CelList list => list.Items.Any(i => References(i, name)),
        CelSelect select => References(select.Operand, name),
        CelIndex index => References(index.Operand, name) || References(index.Index, name),
        CelUnary unary => References(unary.Operand, name),
        CelBinary binary => References(binary.Left, name) || References(binary.Right, name),
        CelConditional c => References(c.Condition, name) || References(c.Then, name) || References(c.Else, name),
        CelCall call => (call.Target is not null && References(call.Target, name)) || call.Args.Any(a => References(a, name)),
        CelMacro macro => References(macro.Target, name) || (macro.Filter is not null && References(macro.Filter, name)) || References(macro.Body, name),
        _ => false,
    };
}
