-- AlterTable
ALTER TABLE "device_grant" ADD COLUMN "dpop_jkt" TEXT;

-- CreateTable
CREATE TABLE "device_grant_counter" (
    "key" TEXT NOT NULL,
    "window_ms" BIGINT NOT NULL,
    "reset_at" BIGINT NOT NULL,
    "hits" BIGINT NOT NULL,

    CONSTRAINT "device_grant_counter_pkey" PRIMARY KEY ("key","window_ms","reset_at")
);

-- CreateTable
CREATE TABLE "device_grant_once" (
    "key" TEXT NOT NULL,
    "expires_at" BIGINT NOT NULL,

    CONSTRAINT "device_grant_once_pkey" PRIMARY KEY ("key")
);

-- CreateIndex
CREATE INDEX "device_grant_counter_reset_at_idx" ON "device_grant_counter"("reset_at");

-- CreateIndex
CREATE INDEX "device_grant_once_expires_at_idx" ON "device_grant_once"("expires_at");
