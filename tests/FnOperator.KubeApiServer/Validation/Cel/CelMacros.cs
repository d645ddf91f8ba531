namespace FnOperator.KubeApiServer.Validation.Cel;

/// <summary>The comprehension macros: all, exists, exists_one, map (with optional filter) and filter over lists and map keys.</summary>
internal static class CelMacros
{
    public static object Evaluate(CelMacro macro, object target, IReadOnlyDictionary<string, object> vars, Func<CelExpr, IReadOnlyDictionary<string, object>, object> eval)
    {
        IEnumerable<object> items = target switch
        {
            List<object> list => list,
            Dictionary<string, object> map => map.Keys,
            _ => throw new CelEvaluationException($"no such overload: {macro.Macro} on {CelEvaluator.TypeName(target)}"),
        };
        var scope = new Dictionary<string, object>(vars);
        object Apply(CelExpr body, object item)
        {
            scope[macro.Variable] = item;
            return eval(body, scope);
        }

        bool Test(CelExpr body, object item) => CelEvaluator.AsBool(Apply(body, item));

        switch (macro.Macro)
        {
            case "all":
                return Quantify(items, item => Test(macro.Body, item), stopOn: false);
            case "exists":
                return Quantify(items, item => Test(macro.Body, item), stopOn: true);
            case "exists_one":
                return items.Count(item => Test(macro.Body, item)) == 1;
            case "filter":
                return items.Where(item => Test(macro.Body, item)).ToList();
            case "map":
                return items.Where(item => macro.Filter is null || Test(macro.Filter, item)).Select(item => Apply(macro.Body, item)).ToList();
            default:
                throw new CelEvaluationException($"unsupported macro {macro.Macro}");
        }
    }

    // all/exists: like && and ||, an error is absorbed when another element decides the result.
    private static bool Quantify(IEnumerable<object> items, Func<object, bool> test, bool stopOn)
    {
        CelEvaluationException? error = null;
        foreach (var item in items.ToList())
        {
            try
            {
                if (test(item) == stopOn)
                {
                    return stopOn;
                }
            }
            catch (CelEvaluationException e)
            {
                error ??= e;
            }
        }

        return error is null ? !stopOn : throw error;
    }
}
