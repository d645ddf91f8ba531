using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace FnOperator.KubeApiServer.Validation.Cel;

/// <summary>An evaluation error (no such key, no such overload, division by zero...): the rule fails with it.</summary>
public sealed class CelEvaluationException(string message) : Exception(message);

/// <summary>
/// Evaluates the CEL subset over JSON values. Values are long, double, string, bool, <see cref="CelNull"/>,
/// lists (List&lt;object&gt;) and maps (Dictionary&lt;string, object&gt;).
/// </summary>
public static class CelEvaluator
{
    public static object Evaluate(CelExpr expr, IReadOnlyDictionary<string, object> variables) => Eval(expr, variables);

    public static object FromJson(JsonNode? node) => node switch
    {
        null => CelNull.Value,
        JsonObject obj => obj.ToDictionary(p => p.Key, p => FromJson(p.Value)),
        JsonArray array => array.Select(FromJson).ToList(),
        JsonValue value => value.GetValueKind() switch
        {
            JsonValueKind.String => value.GetValue<string>(),
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            JsonValueKind.Number => value.TryGetValue<long>(out var l) ? (object)l : value.GetValue<double>(),
            _ => CelNull.Value,
        },
        _ => CelNull.Value,
    };

    private static object Eval(CelExpr expr, IReadOnlyDictionary<string, object> vars) => expr switch
    {
        CelLiteral literal => literal.Value ?? CelNull.Value,
        CelIdent ident => vars.TryGetValue(ident.Name, out var v) ? v : throw new CelEvaluationException($"undeclared reference to '{ident.Name}'"),
        CelList list => list.Items.Select(i => Eval(i, vars)).ToList(),
        CelSelect select => Select(Eval(select.Operand, vars), select.Field, select.TestOnly),
        CelIndex index => Index(Eval(index.Operand, vars), Eval(index.Index, vars)),
        CelUnary { Op: "!" } unary => !AsBool(Eval(unary.Operand, vars)),
        CelUnary unary => Eval(unary.Operand, vars) switch
        {
            long l => checked(-l),
            double d => -d,
            var other => throw NoOverload("-", other),
        },
        CelBinary { Op: "&&" } binary => Logical(binary, vars, shortCircuitOn: false),
        CelBinary { Op: "||" } binary => Logical(binary, vars, shortCircuitOn: true),
        CelBinary binary => Binary(binary.Op, Eval(binary.Left, vars), Eval(binary.Right, vars)),
        CelConditional conditional => AsBool(Eval(conditional.Condition, vars)) ? Eval(conditional.Then, vars) : Eval(conditional.Else, vars),
        CelCall call => Call(call, vars),
        CelMacro macro => CelMacros.Evaluate(macro, Eval(macro.Target, vars), vars, Eval),
        _ => throw new CelEvaluationException($"unsupported expression {expr}"),
    };

    private static object Logical(CelBinary binary, IReadOnlyDictionary<string, object> vars, bool shortCircuitOn)
    {
        // CEL's commutative && and ||: an error on one side is absorbed when the other side decides the result.
        CelEvaluationException? error = null;
        foreach (var side in new[] { binary.Left, binary.Right })
        {
            try
            {
                if (AsBool(Eval(side, vars)) == shortCircuitOn)
                {
                    return shortCircuitOn;
                }
            }
            catch (CelEvaluationException e)
            {
                error ??= e;
            }
        }

        return error is null ? !shortCircuitOn : throw error;
    }

    internal static bool AsBool(object value) => value is bool b ? b : throw new CelEvaluationException($"no such overload: expected bool, got {TypeName(value)}");

    private static object Select(object operand, string field, bool testOnly)
    {
        if (operand is not Dictionary<string, object> map)
        {
            throw new CelEvaluationException($"no such overload: field selection '{field}' on {TypeName(operand)}");
        }

        if (testOnly)
        {
            return map.ContainsKey(field);
        }

        return map.TryGetValue(field, out var value) ? value : throw new CelEvaluationException($"no such key: {field}");
    }

    private static object Index(object operand, object index) => (operand, index) switch
    {
        (List<object> list, long i) => i >= 0 && i < list.Count ? list[(int)i] : throw new CelEvaluationException($"index out of range: {i}"),
        (Dictionary<string, object> map, string key) => map.TryGetValue(key, out var value) ? value : throw new CelEvaluationException($"no such key: {key}"),
        _ => throw NoOverload("[]", operand, index),
    };

    private static object Binary(string op, object left, object right)
    {
        switch (op)
        {
            case "==":
                return CelEquals(left, right);
            case "!=":
                return !CelEquals(left, right);
            case "<" or "<=" or ">" or ">=":
                var c = Compare(op, left, right);
                return op switch { "<" => c < 0, "<=" => c <= 0, ">" => c > 0, _ => c >= 0 };
            case "in":
                return right switch
                {
                    List<object> list => list.Any(item => CelEquals(item, left)),
                    Dictionary<string, object> map => left is string key && map.ContainsKey(key),
                    _ => throw NoOverload("in", left, right),
                };
        }

        try
        {
            return (op, left, right) switch
            {
                ("+", long a, long b) => checked(a + b),
                ("-", long a, long b) => checked(a - b),
                ("*", long a, long b) => checked(a * b),
                ("/" or "%", long, 0L) => throw new CelEvaluationException(op == "/" ? "division by zero" : "modulus by zero"),
                ("/", long a, long b) => a / b,
                ("%", long a, long b) => a % b,
                ("+", double a, double b) => a + b,
                ("-", double a, double b) => a - b,
                ("*", double a, double b) => a * b,
                ("/", double a, double b) => a / b,
                ("+", string a, string b) => a + b,
                ("+", List<object> a, List<object> b) => a.Concat(b).ToList(),
                _ => throw NoOverload(op, left, right),
            };
        }
        catch (OverflowException)
        {
            throw new CelEvaluationException("integer overflow");
        }
    }

    public static bool CelEquals(object left, object right) => (left, right) switch
    {
        (long a, double b) => a == b,
        (double a, long b) => a == b,
        (List<object> a, List<object> b) => a.Count == b.Count && a.Zip(b).All(p => CelEquals(p.First, p.Second)),
        (Dictionary<string, object> a, Dictionary<string, object> b) => a.Count == b.Count && a.All(p => b.TryGetValue(p.Key, out var v) && CelEquals(p.Value, v)),
        _ => left.Equals(right),
    };

    private static int Compare(string op, object left, object right) => (left, right) switch
    {
        (long a, long b) => a.CompareTo(b),
        (double a, double b) => a.CompareTo(b),
        (long a, double b) => ((double)a).CompareTo(b),
        (double a, long b) => a.CompareTo(b),
        (string a, string b) => string.CompareOrdinal(a, b),
        (bool a, bool b) => a.CompareTo(b),
        _ => throw NoOverload(op, left, right),
    };

    private static object Call(CelCall call, IReadOnlyDictionary<string, object> vars)
    {
        var args = call.Args.Select(a => Eval(a, vars)).ToList();
        if (call.Target is not null)
        {
            args.Insert(0, Eval(call.Target, vars));
        }

        return (call.Function, args.ToArray()) switch
        {
            ("size", [string s]) => (long)s.EnumerateRunes().Count(),
            ("size", [List<object> l]) => (long)l.Count,
            ("size", [Dictionary<string, object> m]) => (long)m.Count,
            ("int", [long l]) => l,
            ("int", [double d]) => double.IsFinite(d) && Math.Abs(d) < 9.2e18 ? (long)d : throw new CelEvaluationException("range error converting double to int"),
            ("int", [string s]) => long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l) ? l : throw new CelEvaluationException($"cannot convert '{s}' to int"),
            ("string", [string s]) => s,
            ("string", [long l]) => l.ToString(CultureInfo.InvariantCulture),
            ("string", [double d]) => d.ToString(CultureInfo.InvariantCulture),
            ("string", [bool b]) => b ? "true" : "false",
            ("startsWith", [string s, string p]) => s.StartsWith(p, StringComparison.Ordinal),
            ("endsWith", [string s, string p]) => s.EndsWith(p, StringComparison.Ordinal),
            ("contains", [string s, string p]) => s.Contains(p, StringComparison.Ordinal),
            ("matches", [string s, string p]) => Regex.IsMatch(s, p, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1)),
            _ => throw NoOverload(call.Function, [.. args]),
        };
    }

    private static CelEvaluationException NoOverload(string function, params object[] args) =>
        new($"no such overload: {function}({string.Join(", ", args.Select(TypeName))})");

    internal static string TypeName(object value) => value switch
    {
        long => "int",
        double => "double",
        string => "string",
        bool => "bool",
        List<object> => "list",
        Dictionary<string, object> => "map",
        _ => "null_type",
    };
}
