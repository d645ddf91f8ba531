using FnOperator.Gateway.Functions;

namespace FnOperator.Gateway.Api;

/// <summary>Counts synchronous requests in progress per function, to enforce reserved concurrency with 429s.</summary>
public sealed class ConcurrencyGate
{
    private readonly Dictionary<FunctionKey, int> _active = new();

    /// <summary>Takes a slot unless <paramref name="limit"/> slots are taken. Null limit = unlimited.</summary>
    public bool TryEnter(FunctionKey key, int? limit)
    {
        lock (_active)
        {
            var active = _active.GetValueOrDefault(key);
            if (limit is { } max && active >= max)
            {
                return false;
            }

            _active[key] = active + 1;
            return true;
        }
    }

    public void Exit(FunctionKey key)
    {
        lock (_active)
        {
            var active = _active.GetValueOrDefault(key) - 1;
            if (active <= 0)
            {
                _active.Remove(key);
            }
            else
            {
                _active[key] = active;
            }
        }
    }

    public int Active(FunctionKey key)
    {
        lock (_active)
        {
            return _active.GetValueOrDefault(key);
        }
    }
}
