namespace FnOperator.Operator.Resources;

/// <summary>Lambda's CPU model: CPU in proportion to memory, 1,769 MiB = 1 vCPU, with a floor.</summary>
public static class CpuShare
{
    public const int MiBPerVcpu = 1769;

    public static int Millicores(int memoryMiB, int floorMillicores) =>
        Math.Max(floorMillicores, (int)Math.Round(memoryMiB * 1000.0 / MiBPerVcpu, MidpointRounding.AwayFromZero));
}
