import { expect, test } from '@playwright/test';

test('the client page shows what the server says, through the ports berth leased', async ({
  page,
  baseURL,
}) => {
  expect(baseURL).toBe(process.env.CLIENT_URL);
  await page.goto('/');
  await expect(page.locator('#message')).toHaveText('hello from the server');
  await expect(page.locator('#server')).toHaveText(process.env.SERVER_URL!);
});

test('the server answers on its own port', async ({ request }) => {
  const res = await request.get(`${process.env.SERVER_URL}/api/hello`);
  expect(await res.json()).toEqual({
    message: 'hello from the server',
    port: Number(process.env.SERVER_PORT),
  });
});
