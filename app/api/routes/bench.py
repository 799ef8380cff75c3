"""The benchmark's reference: a no-op endpoint behind the same middleware (ZWR_BENCH_ROUTES)."""

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)


@router.get("/bench/noop")
async def noop() -> dict[str, bool]:
    return {"ok": True}
